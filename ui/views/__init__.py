"""One module per page of the UI; each lays out what the `kb` library computes."""
