"""The base of the app's lists (runs, sweep settings): one row per item, keyed, cursor by row."""

from __future__ import annotations

from textual.widgets import DataTable


class KeyedTable(DataTable):
    """A row-cursor DataTable with fixed named columns; subclasses redraw only when rows change."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._rows: list[object] = []

    def on_mount(self) -> None:
        for name in self.COLUMNS:
            self.add_column(name, key=name)

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None
