"""Charts drawn with plotext (curves, and the embedding map); only ever touched on the UI thread."""

from __future__ import annotations

import time

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.message import Message
from textual_plotext import PlotextPlot

Series = dict[str, tuple[list[float], list[float]]]

# The legend sits in the chart's top border, not over the curves (a small chart has no
# room for plotext's own). RGB, so plotext's curve and Rich's legend are the same colour
# whatever the terminal's palette.
PALETTE = ((0, 200, 200), (220, 90, 220), (230, 200, 40), (80, 200, 80), (100, 150, 250), (230, 230, 230))
# The map's classes: twelve colours that stay apart in 256 colours too (more classes repeat them).
CLASS_PALETTE = ((230, 80, 80), (240, 160, 40), (230, 220, 60), (120, 210, 80), (40, 200, 200),
                 (80, 140, 250), (180, 110, 250), (240, 110, 200), (170, 170, 170), (140, 90, 40),
                 (30, 140, 90), (250, 250, 250))
OVERLAY_COLOR = (250, 80, 80)
# The raw points behind a smoothed curve: present, but out of the way.
FAINT_COLOR = (90, 90, 90)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class Chart(PlotextPlot):
    """A plotext plot with its legend in the top border, redrawn only when its data changed."""

    DEFAULT_CSS = """
    Chart {
        min-height: 6;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
    }
    """

    class Resized(Message):
        """The chart's size changed: its owner thins the curves to the new width."""

    def __init__(self, title: str, **kwargs):
        super().__init__(**kwargs)
        self.chart_title = title
        self._drawn: object = None
        self._data_version = 0
        self._rendered: tuple[object, Text] | None = None
        self.build_seconds = 0.0  # how long plotext took, the last time it built this chart
        self._app_theme = ""

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = f"{escape(self.chart_title)}: no data yet"

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def _register_theme(self, app_theme_name: str) -> None:
        # textual-plotext's hook on mount and on every change of the app's theme.
        self._app_theme = app_theme_name  # a build kept from before is in the old colours
        super()._register_theme(app_theme_name)

    def render(self) -> Text:
        """plotext's build, kept until the data, the size or the theme change: textual-plotext
        builds the chart again on every repaint (20 ms a chart), and showing the monitor's tab,
        a layout or a repaint around the chart repaints it."""
        key = (self._data_version, self.size, self._app_theme, self.theme)
        if self._rendered is None or self._rendered[0] != key:
            start = time.perf_counter()
            self._rendered = (key, super().render())
            self.build_seconds = time.perf_counter() - start
        return self._rendered[1].copy()

    def _unchanged(self, key: object) -> bool:
        """True when `key` was drawn last (skip the comparatively slow plotext build)."""
        if key == self._drawn:
            return True
        self._drawn = key
        self._data_version += 1
        self.plt.clear_data()
        self.plt.clear_figure()
        return False


class LineChart(Chart):
    """Named curves, the raw points faint behind smoothed ones, and an optional second run
    overlaid (dotted, in red)."""

    def __init__(self, title: str, *, y_range: tuple[float, float] | None = None, **kwargs):
        super().__init__(title, **kwargs)
        self.y_range = y_range

    def show(self, series: Series, overlay: Series | None = None, overlay_name: str = "",
             faint: Series | None = None, title: str | None = None) -> None:
        if title is not None:
            self.chart_title = title
        if self._unchanged((repr(series), repr(overlay), overlay_name, repr(faint), self.chart_title)):
            return
        plt = self.plt
        legend = [f"[b]{escape(self.chart_title)}[/b]"]
        for xs, ys in (faint or {}).values():  # first, so the smoothed curves draw over them
            if xs:
                plt.scatter(xs, ys, marker="dot", color=FAINT_COLOR)
        for (name, (xs, ys)), color in zip(series.items(), PALETTE * 4, strict=False):
            if xs:
                plt.plot(xs, ys, marker="braille", color=color)
                legend.append(f"[{_hex(color)}]{escape(name)}[/]")
        for name, (xs, ys) in (overlay or {}).items():
            if xs:
                plt.plot(xs, ys, marker="dot", color=OVERLAY_COLOR)
                legend.append(f"[{_hex(OVERLAY_COLOR)}]{escape(overlay_name)}: {escape(name)}[/]")
        for name, (xs, _) in (faint or {}).items():
            if xs:
                legend.append(f"[{_hex(FAINT_COLOR)}]{escape(name)}[/]")
        if len(legend) == 1:
            legend.append("no data yet")
        self.border_title = " ".join(legend)  # the x axis is the step: no label, one more row of curve
        y_range = self.y_range or _padded_range([*series.values(), *(overlay or {}).values()])
        if y_range is not None:
            plt.ylim(*y_range)
        self.refresh()


def _padded_range(curves: list[tuple[list[float], list[float]]]) -> tuple[float, float] | None:
    """A y range around curves that hold a single value (the first step): plotext would
    label a flat axis with 17-digit ticks that squeeze the chart. None: let plotext choose."""
    values = [y for _, ys in curves for y in ys]
    if not values or max(values) - min(values) > 1e-9:
        return None
    pad = max(abs(values[0]) * 0.05, 0.01)
    return values[0] - pad, values[0] + pad


class ScatterChart(Chart):
    """The embedding map: one point per example, coloured by its true class."""

    can_focus = True  # a details view: focused when shown, so the monitor's keys stay live

    def show(self, points: list[list[float]], labels: list[str], title: str) -> None:
        self.chart_title = title
        if self._unchanged((id(points), len(points), title)):
            return
        plt = self.plt
        legend = [f"[b]{escape(title)}[/b]"]
        for index, name in enumerate(labels):
            xs = [p[0] for p in points if int(p[2]) == index]
            ys = [p[1] for p in points if int(p[2]) == index]
            color = CLASS_PALETTE[index % len(CLASS_PALETTE)]
            if xs:
                plt.scatter(xs, ys, marker="dot", color=color)
            if index < len(CLASS_PALETTE):
                legend.append(f"[{_hex(color)}]{escape(name)}[/]")
        if len(labels) > len(CLASS_PALETTE):
            legend.append(f"(+{len(labels) - len(CLASS_PALETTE)} more; colours repeat)")
        if not points:
            legend.append("no embeddings in this evaluation")
        self.border_title = " ".join(legend)
        self.refresh()
