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
# With a baseline named: the differences and their intervals (the p-values are in the files).
DIFFERENCES = {"Δ acc (seeds)": "Δ accuracy, seeds", "Δ acc (bootstrap)": "Δ accuracy, bootstrap",
               "Δ F1 (seeds)": "Δ macro-F1, seeds", "Δ F1 (bootstrap)": "Δ macro-F1, bootstrap"}
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
        from lcl_tui.sweep_baseline import DIFFERENCE_COLUMNS, difference_cells

        compared = session.sweep.baseline is not None
        columns = (*COLUMNS[:-1], *(DIFFERENCES if compared else ()), COLUMNS[-1])

        def differences(result) -> list[str]:
            if not compared:
                return []
            cells = dict(zip(DIFFERENCE_COLUMNS, difference_cells(result)))
            return [cells[name] for name in DIFFERENCES.values()]

        rows = []
        for result in session.results:
            n = f"{result.n}/{result.planned}" if result.n != result.planned else str(result.n)
            rows.append((result.setting.slug, result.setting.label, n,
                         _mean_std(result.accuracy_mean, result.accuracy_std),
                         _mean_std(result.macro_f1_mean, result.macro_f1_std), *differences(result),
                         describe_states(session.setting_states(result.setting.slug))))
        if rows == self._rows and columns == self._shown_columns():
            return
        self._rows = rows
        cursor = self.cursor_row
        self.clear(columns=columns != self._shown_columns())
        if not self.columns:
            for name in columns:
                self.add_column(name, key=name)
        for key, label, *figures, states in rows:
            self.add_row(Text(label, style="bold"), *(Text(f, justify="right") for f in figures), states, key=key)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))

    def _shown_columns(self) -> tuple[str, ...]:
        return tuple(str(column.label) for column in self.columns.values())

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
