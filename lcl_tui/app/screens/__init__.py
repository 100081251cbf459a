"""Modal screens of the lcl-tui app."""
