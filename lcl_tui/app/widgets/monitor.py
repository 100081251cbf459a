"""The live monitor: progress, loss and validation curves, and the latest evaluation.

The main screen calls `draw()` on a timer with the selected run's snapshot; nothing here
listens to the trainer, so a flood of steps never floods the UI. The pane is mounted
after the first frame (textual.lazy.Lazy): what it is given before then, it draws on mount.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, ProgressBar, Static

from lcl_tui.app.messages import ClearCompare, CycleRun, PaneMounted, ResumeRequested, StopRequested
from lcl_tui.app.series import format_duration, loss_series, progress, validation_series
from lcl_tui.app.widgets.evaluation import ConfusedPairs, ConfusionTable, PerClassTable
from lcl_tui.app.widgets.styles import STATE_STYLES
from lcl_tui.events import EvalEvent, RunSnapshot
from lcl_tui.run_state import ACTIVE, RunState
from lcl_tui.text import percent_label

if TYPE_CHECKING:  # imported in compose: plotext takes tens of ms to load, after the first frame
    from lcl_tui.app.widgets.charts import LineChart

DETAIL_VIEWS = ("confusion", "per-class", "pairs")
DETAIL_TITLES = {
    "confusion": "Confusion matrix",
    "per-class": "Per-class precision / recall / F1 (worst first)",
    "pairs": "Most confused pairs",
}


@dataclass(frozen=True)
class MonitorView:
    """What the monitor shows: a run (none: a hint), and another run overlaid on its curves."""

    title: str = ""
    state: str = ""
    snapshot: RunSnapshot | None = None
    error: str | None = None
    overlay_title: str = ""
    overlay: RunSnapshot | None = None


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
            parts.append(f"val acc {percent_label(latest.accuracy)} F1 {latest.macro_f1:.3f}")
        if best is not None:
            parts.append(f"best {percent_label(best.accuracy)} @{best.step}")
        test = snapshot.test_eval
        if test is not None:
            parts.append(f"test acc {percent_label(test.accuracy)} F1 {test.macro_f1:.3f}")
        if p.step == 0 and snapshot.finished is None and state in ACTIVE:
            parts = ["waiting for a free slot (see Parallel runs in Setup)" if state == RunState.QUEUED
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
        Binding("x", "stop", "Stop run", id="monitor.stop"),
        Binding("u", "resume", "Resume", id="monitor.resume"),
        Binding("left_square_bracket", "cycle_run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "cycle_run(1)", "Next run", show=False),
        Binding("c", "clear_compare", "Clear compare", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.normalised = False
        self.detail_view = DETAIL_VIEWS[0]
        self.view = MonitorView()

    def compose(self) -> ComposeResult:
        from lcl_tui.app.widgets.charts import LineChart

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
        self._show(charts=True)
        self.post_message(PaneMounted(self))

    def focus_main(self) -> bool:
        """Focus the details view shown; False before the pane is mounted."""
        if not self.is_mounted:
            return False
        self.query_one(f"#{self.detail_view}").focus()
        return True

    def draw(self, view: MonitorView, charts: bool = True) -> None:
        """Show `view`; `charts=False` leaves the (slow) charts as they are."""
        self.view = view
        if self.is_mounted:  # else on_mount draws it
            self._show(charts)

    def _show(self, charts: bool) -> None:
        view = self.view
        snapshot = view.snapshot
        self.query_one(RunHeader).show(view.title, view.state, snapshot, view.error,
                                       view.overlay_title if view.overlay else "")
        bar = self.query_one(ProgressBar)
        p = progress(snapshot) if snapshot is not None else None
        if p is not None and p.total_steps:
            bar.update(total=p.total_steps, progress=p.step)
        else:
            bar.update(total=None)
        if charts:
            self._draw_charts()
        latest = snapshot.latest_eval if snapshot else None
        self.query_one(ContentSwitcher).current = self.detail_view
        self.query_one(ConfusionTable).show(latest, self.normalised)
        self.query_one(PerClassTable).show(latest)
        self.query_one(ConfusedPairs).show(latest)
        self._show_details_title(latest)

    def on_line_chart_resized(self, event: LineChart.Resized) -> None:
        # The curves were thinned to the old width (zero while the tab was hidden): a resized
        # terminal, or a finished run drawn before its tab was laid out, would keep them so.
        event.stop()
        self._draw_charts()

    def _draw_charts(self) -> None:
        snapshot, overlay, overlay_title = self.view.snapshot, self.view.overlay, self.view.overlay_title
        loss_chart = cast("LineChart", self.query_one("#loss-chart"))
        validation_chart = cast("LineChart", self.query_one("#validation-chart"))
        # One point per cell is all a curve can show; more only slows plotext down.
        width = max(20, loss_chart.size.width)
        losses = loss_series(snapshot, max_points=width) if snapshot else {}
        val = validation_series(snapshot) if snapshot else {}
        overlay_losses = {}
        overlay_val = {}
        if overlay is not None:
            overlay_losses = {k: v for k, v in loss_series(overlay, max_points=width).items() if k == "total"}
            overlay_val = {k: v for k, v in validation_series(overlay).items() if k == "accuracy"}
        loss_chart.show(losses, overlay_losses, overlay_title)
        validation_chart.show(val, overlay_val, overlay_title)

    def _show_details_title(self, latest: EvalEvent | None = None) -> None:
        title = DETAIL_TITLES[self.detail_view]
        if self.detail_view == "confusion":
            title += " (row %)" if self.normalised else " (counts)"
        if latest is not None:
            title += f" · {latest.split} @ step {latest.step}"
        hint = "  [dim]v: next view" + ("  n: counts/%" if self.detail_view == "confusion" else "") + "[/]"
        self.query_one("#details-title", Static).update(f"[b]{title}[/b]{hint}")

    def action_toggle_normalised(self) -> None:
        self.normalised = not self.normalised
        self.draw(self.view, charts=False)  # the charts have not changed

    def action_cycle_details(self) -> None:
        index = (DETAIL_VIEWS.index(self.detail_view) + 1) % len(DETAIL_VIEWS)
        self.detail_view = DETAIL_VIEWS[index]
        self.draw(self.view, charts=False)
        self.focus_main()

    def action_stop(self) -> None:
        self.post_message(StopRequested())

    def action_resume(self) -> None:
        self.post_message(ResumeRequested())

    def action_cycle_run(self, step: int) -> None:
        self.post_message(CycleRun(step))

    def action_clear_compare(self) -> None:
        self.post_message(ClearCompare())
