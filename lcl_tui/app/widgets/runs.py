"""The runs list: every run folder in the runs folder, plus this session's queued runs.

Mounted after the first frame (textual.lazy.Lazy): runs given before then are shown on mount.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from lcl_tui.app.messages import PaneMounted, RefreshRuns, ResumeRequested, SelectRun, StopRequested
from lcl_tui.app.widgets.styles import STATE_STYLES
from lcl_tui.app.widgets.tables import KeyedTable
from lcl_tui.run_state import RunState
from lcl_tui.text import MISSING, percent_label

if TYPE_CHECKING:
    from lcl_tui.app.run_queue import LiveRun
    from lcl_tui.runstore import RunSummary

COLUMNS = ("run", "status", "best val", "test", "loss", "dataset", "model", "started")


def _started(timestamp: float | None) -> str:
    if timestamp is None:
        return MISSING
    return dt.datetime.fromtimestamp(timestamp).strftime("%b %d %H:%M")


def _short_model(name: str) -> str:
    return name.removeprefix("packaged:")


class RunsTable(KeyedTable):
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="runs.open"),
        Binding("c", "compare", "Compare", id="runs.compare"),
        Binding("p", "prompt", "Prompt", id="runs.prompt"),
        Binding("x", "stop", "Stop", id="runs.stop"),
        Binding("u", "resume", "Resume", id="runs.resume"),
        Binding("r", "refresh", "Refresh", id="runs.refresh"),
    ]

    def show(self, summaries: list[RunSummary], session_runs: list[LiveRun]) -> None:
        """Summaries from the store; session runs override their status (they are live here)."""
        live_by_path = {str(r.run.path): r for r in session_runs if r.run is not None}
        rows: list[tuple] = []
        for live in session_runs:
            if live.run is None and live.state in (RunState.QUEUED, RunState.STARTING):
                c = live.config
                rows.append((live.key, live.config.name, live.state, c.data.dataset,
                             _short_model(c.model.name), c.loss.objective, None, None, None))
        for s in reversed(summaries):  # newest first: run ids start with the date
            live = live_by_path.get(str(s.path))
            status = live.state if live is not None else s.status
            rows.append((str(s.path), s.run_id, status, s.dataset, _short_model(s.model), s.objective,
                         s.best_accuracy, s.test_accuracy, s.started))
        if rows == self._rows:
            return
        self._rows = rows
        selected = self._cursor_key()
        self.clear()
        for key, name, status, dataset, model, objective, best, test, started in rows:
            self.add_row(
                Text(name, style="bold"),
                Text(status, style=STATE_STYLES.get(status, "")),
                Text(percent_label(best), justify="right"),
                Text(percent_label(test), justify="right"),
                objective, dataset, model,
                _started(started),
                key=key,
            )
        if selected is not None and selected in [r[0] for r in rows]:
            self.move_cursor(row=self.get_row_index(selected))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(SelectRun(event.row_key.value, then="monitor"))

    def action_compare(self) -> None:
        key = self._cursor_key()
        if key is not None:
            self.post_message(SelectRun(key, compare=True, then="monitor"))

    def action_prompt(self) -> None:
        key = self._cursor_key()
        if key is not None:
            self.post_message(SelectRun(key, then="prompt"))

    def action_resume(self) -> None:
        key = self._cursor_key()
        if key is not None:
            self.post_message(ResumeRequested(key))

    def action_stop(self) -> None:
        key = self._cursor_key()
        if key is not None:
            self.post_message(StopRequested(key))

    def action_refresh(self) -> None:
        self.post_message(RefreshRuns())


class RunsPane(Vertical):
    def __init__(self, runs_dir: Path, **kwargs):
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self._runs: tuple[list[RunSummary], list[LiveRun]] = ([], [])

    def compose(self) -> ComposeResult:
        yield Static(f"[b]Runs[/b] in {self.runs_dir}  [dim]Enter opens · c overlays on the open run[/]",
                     id="runs-title")
        yield RunsTable(id="runs-table")

    def on_mount(self) -> None:
        self.table.show(*self._runs)
        self.post_message(PaneMounted(self))

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def show(self, summaries: list[RunSummary], session_runs: list[LiveRun]) -> None:
        """The run folders read, and this session's runs (they override their status)."""
        self._runs = (summaries, session_runs)
        if self.is_mounted:  # else on_mount shows them
            self.table.show(summaries, session_runs)

    def focus_main(self) -> bool:
        """Focus the list; False before the pane is mounted."""
        if not self.is_mounted:
            return False
        self.table.focus()
        return True
