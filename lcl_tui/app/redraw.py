"""When the monitor redraws, with no Textual in it.

The main screen's timer asks `RedrawClock.due` four times a second. The header, progress
and tables are redrawn whenever the shown runs changed; a plotext chart costs tens of ms,
so the charts follow at most every `chart_seconds`, and less often where building them is
slow: they take at most `chart_share` of a core, which a run training beside the app would
otherwise lose (its threads wait for the one the app took).
"""

from __future__ import annotations

from dataclasses import dataclass

from lcl_tui.app.outcomes import RunSource

REDRAW_SECONDS = 0.25  # 4 Hz: progress and numbers
CHART_SECONDS = 0.5  # 2 Hz: smooth enough for curves, cheap enough on two cores
CHART_SHARE = 0.02  # of a core: a 35 ms pair of charts is drawn every 1.75 s

ShownState = tuple[object, ...]


def shown_state(selected: RunSource | None, compare: RunSource | None) -> ShownState:
    """Changes whenever what the monitor shows would: another run, a new event, a new state."""
    return (
        selected.key if selected else None, selected.version if selected else None,
        selected.state if selected else None,
        compare.key if compare else None, compare.version if compare else None,
    )


@dataclass(frozen=True)
class Redraw:
    charts: bool  # the charts too, not only the header, progress and tables


class RedrawClock:
    def __init__(self, chart_seconds: float = CHART_SECONDS, chart_share: float = CHART_SHARE):
        self.chart_seconds = chart_seconds
        self.chart_share = chart_share
        self.chart_cost = 0.0  # seconds the charts took to build last time (the screen tells)
        self._drawn: ShownState | None = None
        self._charts_drawn: ShownState | None = None
        self._charts_drawn_at = float("-inf")

    def due(self, state: ShownState, now: float, force: bool = False) -> Redraw | None:
        """What to redraw for `state` at time `now` (None: nothing); `force` draws it all."""
        charts_due = force or now - self._charts_drawn_at >= self.chart_interval()
        charts_stale = state != self._charts_drawn
        if state == self._drawn and not (charts_stale and charts_due) and not force:
            return None
        charts = (charts_stale and charts_due) or force
        self._drawn = state
        if charts:
            self._charts_drawn, self._charts_drawn_at = state, now
        return Redraw(charts)

    def chart_interval(self) -> float:
        """Seconds between chart redraws: `chart_seconds`, or longer for slow charts."""
        return max(self.chart_seconds, self.chart_cost / self.chart_share)
