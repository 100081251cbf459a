"""The sweep tab: the results table of the sweep this session runs, filling in as runs end.

It draws a `SweepView` the screen builds from the session; mounted after the first frame
(textual.lazy.Lazy), it shows on mount the view it was given before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from lcl_tui.app.messages import PaneMounted, StopSweepRequested, SweepRequested, SweepSettingChosen
from lcl_tui.app.widgets.static_text import update_if_changed
from lcl_tui.app.widgets.tables import KeyedTable

if TYPE_CHECKING:  # the sweep module loads when a sweep starts
    from lcl_tui.app.sweep_session import SweepRow, SweepView

COLUMNS = ("setting", "n", "test acc %", "macro-F1 %", "runs")
NO_SWEEP = ("No sweep yet. Press [b]o[/b] to open a sweep file (a grid of settings x seeds, "
            "as `lcl-tui sweep` takes). Its runs train through the queue, as many at a time "
            "as the setup's parallel runs; finished runs are skipped.")


class SweepTable(KeyedTable):
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding("enter", "select_cursor", "Open run", id="sweep.open"),
        Binding("o", "open_sweep_file", "Open sweep", id="sweep.open_file"),
        Binding("x", "stop_sweep", "Stop sweep", id="sweep.stop"),
    ]

    def show(self, rows: tuple[SweepRow, ...], difference_columns: tuple[str, ...] = ()) -> None:
        columns = (*COLUMNS[:-1], *difference_columns, COLUMNS[-1])
        if list(rows) == self._rows and columns == self._shown_columns():
            return
        self._rows = list(rows)
        cursor = self.cursor_row
        self.clear(columns=columns != self._shown_columns())
        if not self.columns:
            for name in columns:
                self.add_column(name, key=name)
        for row in rows:
            self.add_row(Text(row.label, style="bold"), Text(row.n, justify="right"),
                         Text(row.accuracy, justify="right"), Text(row.macro_f1, justify="right"),
                         *(Text(cell, justify="right") for cell in row.differences), row.states,
                         key=row.slug)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))

    def _shown_columns(self) -> tuple[str, ...]:
        return tuple(str(column.label) for column in self.columns.values())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(SweepSettingChosen(event.row_key.value))

    def action_open_sweep_file(self) -> None:
        self.post_message(SweepRequested())

    def action_stop_sweep(self) -> None:
        self.post_message(StopSweepRequested())


class SweepPane(Vertical):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.view: SweepView | None = None

    def compose(self) -> ComposeResult:
        yield Static(NO_SWEEP, id="sweep-title")
        yield Static("", id="sweep-progress")
        yield SweepTable(id="sweep-table")

    def on_mount(self) -> None:
        self._show()
        self.post_message(PaneMounted(self))

    @property
    def table(self) -> SweepTable:
        return self.query_one(SweepTable)

    def focus_main(self) -> bool:
        """Focus the table; False before the pane is mounted."""
        if not self.is_mounted:
            return False
        self.table.focus()
        return True

    def show(self, view: SweepView | None) -> None:
        """The sweep's table (None: no sweep yet)."""
        self.view = view
        if self.is_mounted:  # else on_mount shows it
            self._show()

    def _show(self) -> None:
        title = self.query_one("#sweep-title", Static)
        progress = self.query_one("#sweep-progress", Static)
        view = self.view
        if view is None:
            update_if_changed(title, NO_SWEEP)
            update_if_changed(progress, "")
            self.table.clear()
            return
        update_if_changed(title, Text.assemble((f"Sweep {view.name}", "bold"), (f"  {view.description}", "dim")))
        update_if_changed(progress, view.progress)
        self.table.show(view.rows, view.difference_columns)
