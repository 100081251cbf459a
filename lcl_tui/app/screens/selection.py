"""Which runs are shown: the main screen's part that opens, compares and cycles runs, keeps
the runs list current and follows runs that another process writes."""

from __future__ import annotations

from textual import on, work

from lcl_tui.app.disk_run import DiskRun
from lcl_tui.app.messages import ClearCompare, CycleRun, RefreshRuns, RunsListed, SelectRun
from lcl_tui.app.outcomes import Notice
from lcl_tui.app.screens.base import MainScreenBase


class Selection(MainScreenBase):
    def open_target(self, target: str, compare: bool = False, then: str | None = None) -> None:
        """Show a run (a session key, a run id or a folder path), or overlay it (`compare`)."""
        opened = self.session.open(target, compare=compare)
        if opened.source is None:
            self.show(opened.notice)
            return
        self.show_selection()
        self.show(opened.notice)
        if isinstance(opened.source, DiskRun):
            self._reload_disk_run(opened.source)
        if then:
            self.action_show_tab(then)

    @on(SelectRun)
    def _on_select_run(self, message: SelectRun) -> None:
        self.open_target(message.target, compare=message.compare, then=message.then)

    def action_cycle_run(self, step: int) -> None:
        if self.session.cycle(step) is None:
            self.show(Notice("No runs to cycle through yet", "warning"))
            return
        self.show_selection()

    @on(CycleRun)
    def _on_cycle_run(self, message: CycleRun) -> None:
        self.action_cycle_run(message.step)

    def action_clear_compare(self) -> None:
        if self.session.clear_compare():
            self.redraw(force=True)

    @on(ClearCompare)
    def _on_clear_compare(self) -> None:
        self.action_clear_compare()

    def action_toggle_normalised(self) -> None:
        self.monitor_pane.action_toggle_normalised()

    def action_cycle_details(self) -> None:
        self.monitor_pane.action_cycle_details()

    # --- runs on disk ----------------------------------------------------------------------
    def poll_disk(self) -> None:
        """Follow runs that another process writes, and keep the runs list current (a timer)."""
        for source in self.session.followed_disk_runs():
            self._reload_disk_run(source)
        if self.active_tab == "runs":
            self.action_refresh_runs()

    @work(thread=True, exit_on_error=False, group="disk")
    def _reload_disk_run(self, source: DiskRun) -> None:
        source.reload()

    def action_refresh_runs(self) -> None:
        self._list_runs()

    @on(RefreshRuns)
    def _on_refresh_runs(self) -> None:
        self.action_refresh_runs()

    @work(thread=True, exclusive=True, exit_on_error=False, group="list-runs")
    def _list_runs(self) -> None:
        self.post_message(RunsListed(self.session.list_runs()))

    @on(RunsListed)
    def _on_runs_listed(self, message: RunsListed) -> None:
        self.session.run_summaries = message.summaries
        self.runs_pane.show(message.summaries, self.session.queue.runs)
