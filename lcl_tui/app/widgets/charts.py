"""Line charts drawn with plotext; only ever touched on the UI thread."""

from __future__ import annotations

from rich.markup import escape
from textual import events
from textual.message import Message
from textual_plotext import PlotextPlot

Series = dict[str, tuple[list[float], list[float]]]

# The legend sits in the chart's top border, not over the curves (a small chart has no
# room for plotext's own). RGB, so plotext's curve and Rich's legend are the same colour
# whatever the terminal's palette.
PALETTE = ((0, 200, 200), (220, 90, 220), (230, 200, 40), (80, 200, 80), (100, 150, 250), (230, 230, 230))
OVERLAY_COLOR = (250, 80, 80)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class LineChart(PlotextPlot):
    """A chart of named series, with an optional second run overlaid (dotted, in red)."""

    DEFAULT_CSS = """
    LineChart {
        min-height: 6;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
    }
    """

    def __init__(self, title: str, *, y_range: tuple[float, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.chart_title = title
        self.y_range = y_range
        self._drawn: object = None

    class Resized(Message):
        """The chart's size changed: its owner thins the curves to the new width."""

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = f"{self.chart_title}: no data yet"

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def show(self, series: Series, overlay: Series | None = None, overlay_name: str = "") -> None:
        key = (repr(series), repr(overlay), overlay_name)
        if key == self._drawn:
            return  # the same data: skip the (comparatively slow) plotext build
        self._drawn = key
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        legend = [f"[b]{escape(self.chart_title)}[/b]"]
        for (name, (xs, ys)), color in zip(series.items(), PALETTE * 4, strict=False):
            if xs:
                plt.plot(xs, ys, marker="braille", color=color)
                legend.append(f"[{_hex(color)}]{escape(name)}[/]")
        for name, (xs, ys) in (overlay or {}).items():
            if xs:
                plt.plot(xs, ys, marker="dot", color=OVERLAY_COLOR)
                legend.append(f"[{_hex(OVERLAY_COLOR)}]{escape(overlay_name)}: {escape(name)}[/]")
        if len(legend) == 1:
            legend.append("no data yet")
        self.border_title = " ".join(legend)
        plt.xlabel("step")
        if self.y_range is not None:
            plt.ylim(*self.y_range)
        self.refresh()
