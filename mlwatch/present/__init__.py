"""Tables and charts the dashboard shows, shaped from stored runs (no Streamlit here)."""
