"""The sweep tab: the results table of the sweep this session runs, filling in as runs end."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from lcl_tui.app.messages import SelectRun
from lcl_tui.app.sweep_session import SweepSession, describe_states
from lcl_tui.app.widgets.tables import KeyedTable

COLUMNS = ("setting", "n", "test acc %", "macro-F1 %", "runs")
NO_SWEEP = ("No sweep yet. Press [b]o[/b] to open a sweep file (a grid of settings x seeds, "
            "as `lcl-tui sweep` takes). Its runs train through the queue, as many at a time "
            "as the setup's parallel runs; finished runs are skipped.")


def _mean_std(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "—"
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if std is not None else f"{100 * mean:.1f}"


class SweepTable(KeyedTable):
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding("enter", "select_cursor", "Open run", id="sweep.open"),
        Binding("o", "app.open_sweep_file", "Open sweep", id="sweep.open_file"),
        Binding("x", "app.stop_sweep", "Stop sweep", id="sweep.stop"),
    ]

    def show(self, session: SweepSession) -> None:
        rows = []
        for result in session.results:
            n = f"{result.n}/{result.planned}" if result.n != result.planned else str(result.n)
            rows.append((result.setting.slug, result.setting.label, n,
                         _mean_std(result.accuracy_mean, result.accuracy_std),
                         _mean_std(result.macro_f1_mean, result.macro_f1_std),
                         describe_states(session.setting_states(result.setting.slug))))
        if rows == self._rows:
            return
        self._rows = rows
        cursor = self.cursor_row
        self.clear()
        for key, label, n, accuracy, macro_f1, states in rows:
            self.add_row(Text(label, style="bold"), Text(n, justify="right"),
                         Text(accuracy, justify="right"), Text(macro_f1, justify="right"), states, key=key)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        session = self.app.sweep
        target = session.run_target(event.row_key.value) if session is not None else None
        if target is None:
            self.app.notify("No run of that setting has started yet", severity="warning")
            return
        self.post_message(SelectRun(target, then="monitor"))


class SweepPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(NO_SWEEP, id="sweep-title")
        yield Static("", id="sweep-progress")
        yield SweepTable(id="sweep-table")

    @property
    def table(self) -> SweepTable:
        return self.query_one(SweepTable)

    def focus_main(self) -> None:
        self.table.focus()

    def show(self, session: SweepSession | None) -> None:
        title = self.query_one("#sweep-title", Static)
        progress = self.query_one("#sweep-progress", Static)
        if session is None:
            title.update(NO_SWEEP)
            progress.update("")
            self.table.clear()
            return
        title.update(Text.assemble((f"Sweep {session.name}", "bold"),
                                   (f"  {session.sweep.description}", "dim")))
        states = session.counts()
        where = f"runs folder {session.store.runs_dir}"
        if session.results_paths is not None:
            where = f"tables in {session.results_paths[0]} and .csv"
        progress.update(f"{len(session.plan)} runs: {describe_states(states)}  ·  {where}")
        self.table.show(session)
