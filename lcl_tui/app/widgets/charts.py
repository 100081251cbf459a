"""Line charts drawn with plotext; only ever touched on the UI thread."""

from __future__ import annotations

from textual_plotext import PlotextPlot

Series = dict[str, tuple[list[float], list[float]]]


class LineChart(PlotextPlot):
    """A titled chart of named series, with an optional second run overlaid."""

    DEFAULT_CSS = """
    LineChart { min-height: 6; }
    """

    def __init__(self, title: str, *, y_range: tuple[float, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.chart_title = title
        self.y_range = y_range
        self._drawn: object = None

    def show(self, series: Series, overlay: Series | None = None, overlay_name: str = "") -> None:
        key = (repr(series), repr(overlay), overlay_name)
        if key == self._drawn:
            return  # the same data: skip the (comparatively slow) plotext build
        self._drawn = key
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart_title if series else f"{self.chart_title}: no data yet")
        plt.xlabel("step")
        if self.y_range is not None:
            plt.ylim(*self.y_range)
        for name, (xs, ys) in series.items():
            if xs:
                plt.plot(xs, ys, label=name, marker="braille")
        for name, (xs, ys) in (overlay or {}).items():
            if xs:
                plt.plot(xs, ys, label=f"{overlay_name}: {name}", marker="dot")
        self.refresh()
