"""Sweeps: the main screen's part that plans a sweep file, queues its runs, stops them and
keeps the sweep tab's table current as they end (the tables are written after the last)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work

from lcl_tui.app.messages import (
    StopSweepRequested,
    SweepPlanned,
    SweepRequested,
    SweepResultsRead,
    SweepSettingChosen,
)
from lcl_tui.app.outcomes import Notice, SweepUpdate
from lcl_tui.app.screens.base import MainScreenBase
from lcl_tui.app.screens.dialogs import PathDialog
from lcl_tui.app.session import sweep_results_notice

if TYPE_CHECKING:
    from lcl_tui.app.sweep_session import SweepSession


class SweepControl(MainScreenBase):
    def action_open_sweep_file(self) -> None:
        default = "sweeps/" if Path("sweeps").is_dir() else ""

        def start(path: str | None) -> None:
            if path:
                self.start_sweep(path)

        self.app.push_screen(PathDialog("Run a sweep file (TOML: base, seeds, grid, variants):", default,
                                        "Run sweep"), start)

    @on(SweepRequested)
    def _on_sweep_requested(self) -> None:
        self.action_open_sweep_file()

    def start_sweep(self, path: str) -> None:
        """Read and plan the sweep in a worker (it reads every run folder it names), then queue it."""
        blocked = self.session.sweep_blocked()
        if blocked is not None:
            self.show(blocked)
            return
        self._plan_sweep(str(Path(path).expanduser()))

    @work(thread=True, exit_on_error=False, group="sweep")
    def _plan_sweep(self, path: str) -> None:
        self.post_from_worker(lambda: SweepPlanned(self.session.plan_sweep(path)),
                              lambda line: Notice(line, "error", title="Sweep not started"))

    @on(SweepPlanned)
    def _on_sweep_planned(self, message: SweepPlanned) -> None:
        start = self.session.start_sweep(message.session, self.setup_pane.parallel_runs())
        if start is None:  # two starts raced; the first one won
            return
        self.show_sweep()
        self.action_show_tab("sweep")
        self.show(start.notice)
        if start.all_done:
            self._read_sweep_results(start.sweep, write=True)
        else:
            self.start_ready_runs()

    def action_stop_sweep(self) -> None:
        self.show_stopped(self.session.stop_sweep())

    @on(StopSweepRequested)
    def _on_stop_sweep_requested(self) -> None:
        self.action_stop_sweep()

    def sweep_changed(self, update: SweepUpdate) -> None:
        """A run of the sweep changed (RunControl): redraw the table, re-read what ended."""
        self.show_sweep()
        if update.read:
            self._read_sweep_results(update.sweep, write=update.write)

    @work(thread=True, exit_on_error=False, group="sweep-results")
    def _read_sweep_results(self, sweep: SweepSession, write: bool = False) -> None:
        def read() -> SweepResultsRead:
            sweep.refresh_results()
            if write:
                sweep.write()
            return SweepResultsRead(sweep, written=write)

        # A damaged run folder or a full disk: say so, keep the app.
        self.post_from_worker(read, lambda line: Notice(f"Sweep results not updated: {line}", "warning"))

    @on(SweepResultsRead)
    def _on_sweep_results(self, message: SweepResultsRead) -> None:
        self.show_sweep()
        self.show(sweep_results_notice(message.session, message.written))

    def show_sweep(self) -> None:
        sweep = self.session.sweep
        self.sweep_pane.show(sweep.view() if sweep is not None else None)

    @on(SweepSettingChosen)
    def _on_setting_chosen(self, message: SweepSettingChosen) -> None:
        target = self.session.sweep_target(message.slug)
        if isinstance(target, Notice):
            self.show(target)
            return
        self.open_target(target, then="monitor")
