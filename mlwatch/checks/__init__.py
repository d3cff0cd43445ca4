"""The checks of a run and the gate that decides from them."""
