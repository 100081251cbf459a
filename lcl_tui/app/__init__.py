"""The lcl-tui Textual app. Importing this package is cheap: no Textual, torch or
transformers until `run_app` is called (and torch only later, in a worker)."""

from __future__ import annotations

from pathlib import Path


def run_app(
    preset: str | None = None,
    start: bool = False,
    open_run: str | None = None,
    runs_dir: str | Path | None = None,
    mouse: bool = True,
    sweep_file: str | None = None,
) -> None:
    """Open the app; `mouse=False` leaves the mouse to the terminal (select text over SSH)."""
    from lcl_tui.app.app import make_app

    app = make_app(preset=preset, start=start, open_run=open_run, runs_dir=runs_dir, sweep_file=sweep_file)
    app.run(mouse=mouse)


def make_app(*args, **kwargs):
    from lcl_tui.app.app import make_app as _make_app

    return _make_app(*args, **kwargs)


__all__ = ["make_app", "run_app"]
