"""Widgets of the lcl-tui app, one area each."""
