"""The latest evaluation: confusion matrix, per-class scores, the most confused pairs, and
what the model thinks is close (label affinity and centroid similarity heatmaps)."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from lcl_tui.app.confusion import most_confused_pairs, row_normalised
from lcl_tui.app.heatmap import DARK_STEPS, RAMP, closest_pairs, header_lines, off_diagonal_range, ramp_step
from lcl_tui.events import EvalEvent

# The first column ("true \ predicted", then the class names) and each cell's padding.
CONFUSION_FIRST_COLUMN = 18
CELL_PADDING = 2


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
        width = self.size.width
        key = (id(event), event.step if event else None, normalised, width)
        if key == self._drawn:
            return
        self._drawn = key
        self.normalised = normalised
        self.clear(columns=True)
        if event is None or not event.confusion:
            self.header_height = 1
            self.add_column("no evaluation yet")
            return
        labels = event.label_names
        cell = column_width(labels, width)
        headers = [header_lines(label, cell) for label in labels]
        # A second header line where a name needs it ("very" over "negative"), none otherwise.
        self.header_height = 2 if any(lines[0] for lines in headers) else 1
        self.add_column(Text("true \\ predicted", style="bold"), key="__true__")
        for index, lines in enumerate(headers):
            self.add_column("\n".join(lines[-self.header_height:]), key=f"p{index}", width=cell)
        shares = row_normalised(event.confusion)
        for i, row in enumerate(event.confusion):
            cells: list[Text] = [Text(labels[i], style="bold")]
            for j, count in enumerate(row):
                value = f"{shares[i][j] * 100:.0f}%" if normalised else str(count)
                cells.append(Text(value, style=_heat(shares[i][j], i == j), justify="right"))
            self.add_row(*cells, key=f"t{i}")


def column_width(labels: list[str], width: int) -> int:
    """The widest class-name column that lets every class fit in `width` (whole names when
    there is room: "very negative" at 120 columns), at least 5."""
    longest = max(len(label) for label in labels)
    if width <= 0:
        return max(5, min(10, longest))
    room = (width - CONFUSION_FIRST_COLUMN) // len(labels) - CELL_PADDING
    return max(5, min(longest, room))


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
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._drawn: object = ()

    def show(self, event: EvalEvent | None) -> None:
        key = (id(event), event.step if event else None)
        if key == self._drawn:  # a rich Table compares by identity: the event says what changed
            return
        self._drawn = key
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


# Text colours by number too (231: white, 16: black): named ones follow the terminal's theme.
DIAGONAL = Style(bgcolor="color(238)", color="color(231)")


def _cell_style(step: int) -> Style:
    return Style(bgcolor=f"color({RAMP[step]})", color="color(231)" if step < DARK_STEPS else "color(16)")


class Heatmap(Widget):
    """A class-by-class matrix as coloured cells, with the closest pairs listed.

    The colour scale spans the values off the diagonal (a class with itself would flatten
    the rest); the diagonal is grey. Up to `NUMBERED` classes each cell shows its value;
    more (trec-50) get one coloured character a cell and the list of closest pairs first.
    """

    DEFAULT_CSS = "Heatmap { height: auto; }"
    NUMBERED = 12
    ROW_LABEL = 16

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.matrix: list[list[float]] | None = None
        self.labels: list[str] = []
        self.symmetric = False
        self.note = "No evaluation yet."
        self.pair_word = "→"

    def show(self, matrix: list[list[float]] | None, labels: list[str], *, symmetric: bool,
             note: str) -> None:
        if (matrix, labels, symmetric, note) == (self.matrix, self.labels, self.symmetric, self.note):
            return
        self.matrix, self.labels, self.symmetric, self.note = matrix, list(labels), symmetric, note
        self.pair_word = "~" if symmetric else "→"
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> RenderResult:
        return Text("\n").join(self.lines(self.size.width))

    def lines(self, width: int) -> list[Text]:
        if not self.matrix or len(self.matrix) != len(self.labels):
            return [Text(self.note, style="dim")]
        matrix, labels = self.matrix, self.labels
        low, high = off_diagonal_range(matrix)
        label_width = min(self.ROW_LABEL, max(len(label) for label in labels))
        room = (max(width, 20) - label_width - 1) // len(labels)
        pairs = self._pairs(len(labels) > self.NUMBERED)
        if len(labels) <= self.NUMBERED and room >= 5:
            grid = self._numbered(matrix, labels, label_width, min(room, max(7, label_width + 1)), low, high)
            return grid + [self._scale(low, high)] + pairs
        return pairs + [self._scale(low, high)] + self._compact(matrix, labels, label_width, low, high)

    def _row_label(self, label: str, width: int) -> Text:
        shown = label if len(label) <= width else label[: width - 1] + "…"
        return Text(f"{shown:<{width}} ", style="bold")

    def _numbered(self, matrix, labels, label_width, cell, low, high) -> list[Text]:
        headers = [header_lines(label, cell - 1) for label in labels]
        out = []
        for line in range(2):
            if line == 0 and not any(h[0] for h in headers):
                continue
            text = Text(" " * (label_width + 1))
            for lines in headers:
                text.append(f"{lines[line]:>{cell}}", style="bold")
            out.append(text)
        for i, row in enumerate(matrix):
            text = self._row_label(labels[i], label_width)
            for j, value in enumerate(row):
                style = DIAGONAL if i == j else _cell_style(ramp_step(value, low, high))
                text.append(f"{value:>{cell}.2f}", style=style)
            out.append(text)
        return out

    def _compact(self, matrix, labels, label_width, low, high) -> list[Text]:
        out = [Text(" " * (label_width + 1) + "columns: the same classes, in the same order", style="dim")]
        for i, row in enumerate(matrix):
            text = self._row_label(labels[i], label_width)
            for j, value in enumerate(row):
                text.append(" ", style=DIAGONAL if i == j else _cell_style(ramp_step(value, low, high)))
            out.append(text)
        return out

    def _scale(self, low: float, high: float) -> Text:
        text = Text("scale off the diagonal: ", style="dim")
        text.append(f"{low:.2f} ")
        for step in range(len(RAMP)):
            text.append(" ", style=_cell_style(step))
        text.append(f" {high:.2f}")
        text.append("  diagonal ", style="dim")
        text.append("    ", style=DIAGONAL)
        return text

    def _pairs(self, many: bool) -> list[Text]:
        assert self.matrix is not None
        pairs = closest_pairs(self.matrix, self.labels, self.symmetric, limit=12 if many else 5)
        out = [Text("Closest pairs:", style="bold")]
        for pair in pairs:
            out.append(Text.assemble(f"  {pair.first} ", (self.pair_word, "dim"), f" {pair.second}  ",
                                     (f"{pair.value:.3f}", "bold")))
        return out
