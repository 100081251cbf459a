"""The live monitor: progress, loss and validation curves, and the latest evaluation.

The app calls `draw()` on a timer with the selected run's snapshot; nothing here
listens to the trainer, so a flood of steps never floods the UI.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, ProgressBar, Static

from lcl_tui.app.series import (
    format_duration,
    format_percent,
    loss_series,
    progress,
    validation_series,
)
from lcl_tui.app.widgets.charts import LineChart
from lcl_tui.app.widgets.evaluation import ConfusedPairs, ConfusionTable, PerClassTable
from lcl_tui.events import RunSnapshot

DETAIL_VIEWS = ("confusion", "per-class", "pairs")
DETAIL_TITLES = {
    "confusion": "Confusion matrix",
    "per-class": "Per-class precision / recall / F1 (worst first)",
    "pairs": "Most confused pairs",
}
STATE_STYLES = {
    "queued": "yellow", "starting": "yellow", "running": "bold green", "completed": "bold cyan",
    "stopped": "yellow", "failed": "bold red", "interrupted": "red",
}


class RunHeader(Static):
    """Which run, its state, and where it stands (progress, ETA, lr, speed, scores)."""

    def show(self, title: str, state: str, snapshot: RunSnapshot | None, error: str | None,
             overlay_title: str = "") -> None:
        if snapshot is None:
            self.update(Text("No run selected. Press F2 to set up an experiment and Ctrl+T to "
                             "train, or F5 to open a saved run.", style="dim"))
            return
        p = progress(snapshot)
        line1 = Text.assemble(
            (title, "bold"), "  ", (state, STATE_STYLES.get(state, "")),
            f"  {snapshot.objective or ''}  {snapshot.device or ''}",
        )
        if overlay_title:
            line1.append(f"  overlay: {overlay_title} (c clears)", style="magenta")
        parts = [f"step {p.step}/{p.total_steps or '?'}"]
        if p.epoch is not None:
            parts.append(f"epoch {p.epoch:.2f}")
        if p.stage and p.stage != "train":
            parts.append(f"stage {p.stage}")
        parts.append(f"elapsed {format_duration(p.elapsed_seconds)}")
        if snapshot.finished is None:
            parts.append(f"ETA {format_duration(p.eta_seconds)}")
        if p.lr is not None:
            parts.append(f"lr {p.lr:.2e}")
        if p.examples_per_second is not None:
            parts.append(f"{p.examples_per_second:.0f} ex/s")
        latest = snapshot.validation_evals[-1] if snapshot.validation_evals else None
        best = snapshot.best_validation
        if latest is not None:
            parts.append(f"val acc {format_percent(latest.accuracy)} F1 {latest.macro_f1:.3f}")
        if best is not None:
            parts.append(f"best {format_percent(best.accuracy)} @{best.step}")
        test = snapshot.test_eval
        if test is not None:
            parts.append(f"test acc {format_percent(test.accuracy)} F1 {test.macro_f1:.3f}")
        if p.step == 0 and snapshot.finished is None and state in ("queued", "starting", "running"):
            parts = ["waiting for a free slot (see Parallel runs in Setup)" if state == "queued"
                     else "loading data and model…"]
        line2 = Text(" · ".join(parts))
        lines = [line1, line2]
        if error:
            lines.append(Text(f"error: {error}", style="bold red"))
        self.update(Text("\n").join(lines))


class MonitorPane(Vertical):
    BINDINGS = [
        Binding("n", "toggle_normalised", "Counts/%", id="monitor.normalise"),
        Binding("v", "cycle_details", "Details", id="monitor.details"),
        Binding("x", "app.stop_selected", "Stop run", id="monitor.stop"),
        Binding("u", "app.resume_selected", "Resume", id="monitor.resume"),
        Binding("left_square_bracket", "app.cycle_run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "app.cycle_run(1)", "Next run", show=False),
        Binding("c", "app.clear_compare", "Clear compare", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.normalised = False
        self.detail_view = DETAIL_VIEWS[0]
        self._last: tuple | None = None

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        yield ProgressBar(total=100, show_eta=False, id="run-progress")
        with Horizontal(id="charts"):
            yield LineChart("Loss", id="loss-chart")
            yield LineChart("Validation", y_range=(0.0, 1.0), id="validation-chart")
        yield Static(id="details-title")
        with ContentSwitcher(initial="confusion", id="details"):
            yield ConfusionTable(id="confusion")
            yield PerClassTable(id="per-class")
            with VerticalScroll(id="pairs", can_focus=True):
                yield ConfusedPairs(id="pairs-text")

    def on_mount(self) -> None:
        self._show_details_title()

    def focus_main(self) -> None:
        self.query_one(f"#{self.detail_view}").focus()

    def draw(self, title: str, state: str, snapshot: RunSnapshot | None, error: str | None = None,
             overlay_title: str = "", overlay: RunSnapshot | None = None, charts: bool = True) -> None:
        self._last = (title, state, snapshot, error, overlay_title, overlay)
        self.query_one(RunHeader).show(title, state, snapshot, error, overlay_title if overlay else "")
        bar = self.query_one(ProgressBar)
        p = progress(snapshot) if snapshot is not None else None
        if p is not None and p.total_steps:
            bar.update(total=p.total_steps, progress=p.step)
        else:
            bar.update(total=None)
        if charts:
            self._draw_charts(snapshot, overlay_title, overlay)
        latest = snapshot.latest_eval if snapshot else None
        self.query_one(ConfusionTable).show(latest, self.normalised)
        self.query_one(PerClassTable).show(latest)
        self.query_one(ConfusedPairs).show(latest)
        self._show_details_title(latest)

    def on_line_chart_resized(self, event: LineChart.Resized) -> None:
        # The curves were thinned to the old width (zero while the tab was hidden): a resized
        # terminal, or a finished run drawn before its tab was laid out, would keep them so.
        event.stop()
        if self._last is not None:
            _, _, snapshot, _, overlay_title, overlay = self._last
            self._draw_charts(snapshot, overlay_title, overlay)

    def _draw_charts(self, snapshot: RunSnapshot | None, overlay_title: str, overlay: RunSnapshot | None) -> None:
        # One point per cell is all a curve can show; more only slows plotext down.
        width = max(20, self.query_one("#loss-chart").size.width)
        losses = loss_series(snapshot, max_points=width) if snapshot else {}
        val = validation_series(snapshot) if snapshot else {}
        overlay_losses = {}
        overlay_val = {}
        if overlay is not None:
            overlay_losses = {k: v for k, v in loss_series(overlay, max_points=width).items() if k == "total"}
            overlay_val = {k: v for k, v in validation_series(overlay).items() if k == "accuracy"}
        self.query_one("#loss-chart", LineChart).show(losses, overlay_losses, overlay_title)
        self.query_one("#validation-chart", LineChart).show(val, overlay_val, overlay_title)

    def _show_details_title(self, latest=None) -> None:
        title = DETAIL_TITLES[self.detail_view]
        if self.detail_view == "confusion":
            title += " (row %)" if self.normalised else " (counts)"
        if latest is not None:
            title += f" · {latest.split} @ step {latest.step}"
        hint = "  [dim]v: next view" + ("  n: counts/%" if self.detail_view == "confusion" else "") + "[/]"
        self.query_one("#details-title", Static).update(f"[b]{title}[/b]{hint}")

    def action_toggle_normalised(self) -> None:
        self.normalised = not self.normalised
        self._redraw()

    def action_cycle_details(self) -> None:
        index = (DETAIL_VIEWS.index(self.detail_view) + 1) % len(DETAIL_VIEWS)
        self.detail_view = DETAIL_VIEWS[index]
        self.query_one(ContentSwitcher).current = self.detail_view
        self.focus_main()
        self._redraw()

    def _redraw(self) -> None:
        """Redraw after a key: the charts have not changed, so they are left alone."""
        if self._last is not None:
            self.draw(*self._last, charts=False)
        else:
            self._show_details_title()
