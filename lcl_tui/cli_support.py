"""What every CLI command shares: one-line user errors, and stopping cleanly on a signal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from lcl_tui.errors import UserError

DEFAULT_RUNS_DIR = Path("runs")


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def user_errors(quiet: bool = False) -> Iterator[None]:
    """A UserError becomes one line and exit 2 (`quiet`: the exit code alone)."""
    try:
        yield
    except UserError as error:
        if quiet:
            raise typer.Exit(2) from None
        fail(str(error))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def stop_on_signals():
    """Ctrl-C, SIGTERM (a batch scheduler's pre-emption) or SIGHUP stops after the current step,
    keeping a checkpoint to `--resume` from; a second Ctrl-C aborts at once."""
    import signal
    import threading

    stop = threading.Event()

    def request_stop(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        typer.echo("stopping after this step (Ctrl-C again to abort)", err=True)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        # A dropped SSH session: stop cleanly with a checkpoint rather than die mid-write.
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, request_stop)
    return stop


def print_table(columns: list[str], rows: list[list[str]], keep_whole: tuple[str, ...] = ()) -> None:
    """A table on a terminal; tab-separated lines, every value whole, in a pipe or a log.

    Rich fits a table to the terminal's width, and to 80 columns when stdout is not one:
    `lcl-tui runs | cat` then cut the run ids that every other command takes. `keep_whole`
    names the columns a narrow terminal must not wrap (the rest wrap).
    """
    if not sys.stdout.isatty():
        for row in [columns, *rows]:
            typer.echo("\t".join(" ".join(str(value).split()) for value in row))
        return
    from rich.console import Console
    from rich.table import Column, Table

    table = Table(*(Column(name, no_wrap=name in keep_whole) for name in columns), box=None)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def print_note(text: str) -> None:
    """A line under a table: on stderr in a pipe, so the table's lines stay only rows."""
    typer.echo(text, err=not sys.stdout.isatty())
