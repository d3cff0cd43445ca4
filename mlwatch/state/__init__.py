"""What is stored: the SQLite state, run artifacts, history and measured performance."""
