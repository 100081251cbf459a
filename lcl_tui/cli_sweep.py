"""`lcl-tui sweep`: asking before a large sweep, and a line for each run as it trains."""

from __future__ import annotations

import sys

import typer

from lcl_tui.errors import UserError
from lcl_tui.quiet import quiet_libraries
from lcl_tui.run_state import RunState

# A sweep that trains more runs than this asks first (on a terminal) or needs --yes.
CONFIRM_ABOVE_RUNS = 200


def stdin_is_a_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def confirm_large_sweep(to_train: int, yes: bool) -> None:
    """Ask before a sweep trains more than CONFIRM_ABOVE_RUNS runs (a 10,000-run grid is
    usually a typo in [grid]); without a terminal to ask on, --yes must say so."""
    if yes or to_train <= CONFIRM_ABOVE_RUNS:
        return
    if not stdin_is_a_terminal():
        raise UserError(f"this sweep would train {to_train} runs (more than {CONFIRM_ABOVE_RUNS}); check its "
                        "[grid] and seeds, and add --yes to start it without a terminal to confirm on")
    if not typer.confirm(f"Train {to_train} runs?", default=False):
        typer.echo("not started", err=True)
        raise typer.Exit(1)


def run_sweep_with_progress(loaded, store, stop) -> int:
    """Train the sweep's runs, a line for each as it starts and ends; the number that failed."""
    quiet_libraries()
    from lcl_tui.console import ConsoleReporter
    from lcl_tui.events import RunStarted
    from lcl_tui.sweep import run_sweep

    class FreshReporterPerRun:
        """A console reporter closes its bar at the end of a run; each run gets a new one."""

        reporter: ConsoleReporter | None = None

        def __call__(self, event) -> None:
            if isinstance(event, RunStarted) or self.reporter is None:
                self.reporter = ConsoleReporter(interval=30.0)
            self.reporter(event)

    failed = 0
    for progress in run_sweep(loaded, store, subscribers=[FreshReporterPerRun()], stop=stop):
        where = f"[{progress.index}/{progress.total}] {progress.point.run_name}"
        if progress.kind == "skipped":
            typer.echo(f"{where}: skipped ({progress.status})")
        elif progress.kind == "started":
            verb = {"redo": "redo", "resume": "resume"}.get(progress.status or "", "start")
            typer.echo(f"{where}: {verb} ({progress.point.setting.label}, seed {progress.point.seed})")
        elif progress.status == RunState.STOPPED:
            typer.echo(f"{where}: stopped; its last checkpoint is kept to resume from", err=True)
        elif progress.error or progress.status != RunState.COMPLETED:
            failed += progress.status == RunState.FAILED
            typer.echo(f"{where}: {progress.status}: {progress.error or 'no test result'}", err=True)
        else:
            typer.echo(f"{where}: test accuracy {progress.test_accuracy:.4f} macro-F1 "
                       f"{progress.test_macro_f1:.4f} ({progress.seconds:.0f}s)")
    return failed
