"""The latest evaluation: confusion matrix, per-class scores and the most confused pairs."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import DataTable, Static

from lcl_tui.app.confusion import most_confused_pairs, row_normalised, short_label
from lcl_tui.events import EvalEvent


def _heat(fraction: float, diagonal: bool) -> Style:
    """Cell background by share of the true class: green on the diagonal, red off it."""
    if fraction <= 0:
        return Style(dim=True)
    level = int(40 + 160 * min(1.0, fraction))
    color = f"rgb(0,{level},0)" if diagonal else f"rgb({level},0,0)"
    return Style(bgcolor=color, color="white", bold=fraction >= 0.5)


class ConfusionTable(DataTable):
    """Rows are true classes, columns predicted ones; counts or row shares."""

    def __init__(self, **kwargs):
        super().__init__(cursor_type="cell", zebra_stripes=False, **kwargs)
        self.normalised = False
        self._drawn: object = None

    def show(self, event: EvalEvent | None, normalised: bool) -> None:
        key = (id(event), event.step if event else None, normalised)
        if key == self._drawn:
            return
        self._drawn = key
        self.normalised = normalised
        self.clear(columns=True)
        if event is None or not event.confusion:
            self.add_column("no evaluation yet")
            return
        labels = event.label_names
        width = max(4, min(10, max(len(label) for label in labels)))
        self.add_column(Text("true \\ predicted", style="bold"), key="__true__")
        for index, label in enumerate(labels):
            self.add_column(short_label(label, width), key=f"p{index}", width=max(width, 5))
        shares = row_normalised(event.confusion)
        for i, row in enumerate(event.confusion):
            cells: list[Text] = [Text(labels[i], style="bold")]
            for j, count in enumerate(row):
                value = f"{shares[i][j] * 100:.0f}%" if normalised else str(count)
                cells.append(Text(value, style=_heat(shares[i][j], i == j), justify="right"))
            self.add_row(*cells, key=f"t{i}")


class PerClassTable(DataTable):
    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._drawn: object = None

    def show(self, event: EvalEvent | None) -> None:
        key = (id(event), event.step if event else None)
        if key == self._drawn:
            return
        self._drawn = key
        self.clear(columns=True)
        for name in ("class", "precision", "recall", "F1", "support"):
            self.add_column(name, key=name)
        if event is None:
            return
        # Worst F1 first: the classes that need attention are at the top.
        for row in sorted(event.per_class, key=lambda r: (r.f1, r.label)):
            self.add_row(
                row.label,
                Text(f"{row.precision:.3f}", justify="right"),
                Text(f"{row.recall:.3f}", justify="right"),
                Text(f"{row.f1:.3f}", justify="right", style="red" if row.f1 < 0.5 else ""),
                Text(str(row.support), justify="right"),
            )


class ConfusedPairs(Static):
    def show(self, event: EvalEvent | None) -> None:
        if event is None:
            self.update("No evaluation yet.")
            return
        pairs = most_confused_pairs(event.confusion, event.label_names)
        if not pairs:
            self.update("No confusions: every example went to its own class.")
            return
        table = Table(box=None, pad_edge=False, expand=False)
        table.add_column("true class")
        table.add_column("")
        table.add_column("predicted as")
        table.add_column("count", justify="right")
        table.add_column("of true", justify="right")
        for pair in pairs:
            table.add_row(pair.true_label, "→", pair.predicted_label, str(pair.count),
                          f"{pair.share_of_true * 100:.0f}%")
        self.update(table)
