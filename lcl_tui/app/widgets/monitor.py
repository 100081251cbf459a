"""The live monitor: progress, the loss and accuracy curves, and the latest evaluation.

The main screen calls `draw()` on a timer with the selected run's snapshot; nothing here
listens to the trainer, so a flood of steps never floods the UI. The pane is mounted
after the first frame (textual.lazy.Lazy): what it is given before then, it draws on mount.

Layout: the curves on top and the evaluation views under them; on a wide terminal side by
side. The evaluation views take no room until there is an evaluation to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, ProgressBar, Static

from lcl_tui.app.messages import (
    ClearCompare,
    CycleRun,
    PaneMounted,
    ResumeRequested,
    StopRequested,
)
from lcl_tui.app.series import (
    accuracy_curves,
    format_duration,
    loss_curve,
    loss_terms,
    progress,
    training_accuracy,
    validation_series,
)
from lcl_tui.app.widgets.evaluation import (
    ConfusedPairs,
    ConfusionTable,
    Heatmap,
    PerClassTable,
)
from lcl_tui.app.widgets.static_text import update_if_changed
from lcl_tui.app.widgets.styles import STATE_STYLES
from lcl_tui.events import EvalEvent, RunSnapshot
from lcl_tui.run_state import ACTIVE, RunState
from lcl_tui.text import percent_label

if TYPE_CHECKING:  # imported in compose: plotext takes tens of ms to load, after the first frame
    from lcl_tui.app.widgets.charts import Chart, LineChart, ScatterChart

DETAIL_VIEWS = ("confusion", "per-class", "pairs", "affinity", "centroids", "map")
DETAIL_TITLES = {
    "confusion": "Confusion matrix",
    "per-class": "Per-class precision / recall / F1 (worst first)",
    "pairs": "Most confused pairs",
    "affinity": "Label affinity",
    "centroids": "Centroid similarity: cosine between the class means of the embeddings",
    "map": "Embedding map: the embeddings' first two principal components, by true class",
}
LARGE_VIEWS = ("affinity", "centroids", "map")
AFFINITY_SOURCES = {
    "weighting": "the weighting network's mean softmax for each true class (row)",
    "classifier": "the classifier's mean probabilities for each true class (row)",
}
# The pane's width from which curves and evaluation sit side by side: a 160-column
# terminal less the tab's padding.
WIDE_WIDTH = 158


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
    """Which run, its state, and where it stands (progress, ETA, accuracy, lr, speed)."""

    def show(self, title: str, state: str, snapshot: RunSnapshot | None, overlay_title: str = "") -> None:
        if snapshot is None:
            update_if_changed(self, Text("No run selected. Press F2 to set up an experiment and "
                                         "Ctrl+T to train, or F5 to open a saved run.", style="dim"))
            return
        line1 = Text.assemble(
            (title, "bold"), "  ", (state, STATE_STYLES.get(state, "")),
            f"  {snapshot.objective or ''}  {snapshot.device or ''}",
        )
        if overlay_title:
            line1.append(f"  overlay: {overlay_title} (c clears)", style="magenta")
        update_if_changed(self, Text("\n").join([line1, Text(" · ".join(_progress_parts(snapshot, state)))]))


def _progress_parts(snapshot: RunSnapshot, state: str) -> list[str]:
    p = progress(snapshot)
    if p.step == 0 and snapshot.finished is None and state in ACTIVE:
        return ["waiting for a free slot (see Parallel runs in Setup)" if state == RunState.QUEUED
                else "loading data and model…"]
    parts = [f"step {p.step}/{p.total_steps or '?'}"]
    train = training_accuracy(snapshot)
    if train is not None:
        parts.append(f"train acc {percent_label(train)}")
    latest = snapshot.validation_evals[-1] if snapshot.validation_evals else None
    if latest is not None:
        parts.append(f"val acc {percent_label(latest.accuracy)} F1 {latest.macro_f1:.3f}")
    best = snapshot.best_validation
    if best is not None:
        parts.append(f"best {percent_label(best.accuracy)} @{best.step}")
    test = snapshot.test_eval
    if test is not None:
        parts.append(f"test acc {percent_label(test.accuracy)} F1 {test.macro_f1:.3f}")
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
    return parts


class MonitorPane(Vertical):
    BINDINGS = [
        Binding("v", "cycle_details", "Views", id="monitor.details"),
        Binding("a", "show_affinity", "Affinity", id="monitor.affinity"),
        Binding("e", "show_details('map')", "Map", id="monitor.map"),
        # Hinted in the charts' titles: the footer has no room at 80 columns.
        Binding("t", "cycle_term", "Loss term", id="monitor.term", show=False),
        Binding("s", "toggle_smoothing", "Smooth", id="monitor.smooth", show=False),
        Binding("n", "toggle_normalised", "Counts/%", id="monitor.normalise", show=False),
        Binding("x", "stop", "Stop", id="monitor.stop"),
        Binding("u", "resume", "Resume", id="monitor.resume"),
        Binding("left_square_bracket", "cycle_run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "cycle_run(1)", "Next run", show=False),
        Binding("c", "clear_compare", "Clear compare", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.normalised = False
        self.smooth = True
        self.loss_term = "total"
        self.detail_view = DETAIL_VIEWS[0]
        self.view = MonitorView()

    def compose(self) -> ComposeResult:
        from lcl_tui.app.widgets.charts import LineChart, ScatterChart

        yield RunHeader(id="run-header")
        yield Static(id="run-error")
        yield ProgressBar(total=100, show_eta=False, id="run-progress")
        with Container(id="monitor-body"):
            with Container(id="curves"):
                yield LineChart("Loss", id="loss-chart")
                yield LineChart("Accuracy", y_range=(0.0, 1.0), id="accuracy-chart")
            with Vertical(id="evaluation"):
                yield Static(id="details-title")
                with ContentSwitcher(initial="confusion", id="details"):
                    yield ConfusionTable(id="confusion")
                    yield PerClassTable(id="per-class")
                    with VerticalScroll(id="pairs", can_focus=True):
                        yield ConfusedPairs(id="pairs-text")
                    with VerticalScroll(id="affinity", can_focus=True):
                        yield Heatmap(id="affinity-map")
                    with VerticalScroll(id="centroids", can_focus=True):
                        yield Heatmap(id="centroids-map")
                    yield ScatterChart("Embedding map", id="map")

    def on_mount(self) -> None:
        self._show(charts=True)
        self.post_message(PaneMounted(self))

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= WIDE_WIDTH, "-wide")

    def focus_main(self) -> bool:
        """Focus the details view shown; False before the pane is mounted."""
        if not self.is_mounted:
            return False
        self.query_one(f"#{self.detail_view}").focus()
        return True

    @property
    def chart_build_seconds(self) -> float:
        """What building the curves took the last time (0 before they were built)."""
        if not self.is_mounted:
            return 0.0
        return sum(cast("Chart", self.query_one(f"#{name}")).build_seconds
                   for name in ("loss-chart", "accuracy-chart"))

    def draw(self, view: MonitorView, charts: bool = True) -> None:
        """Show `view`; `charts=False` leaves the (slow) charts as they are."""
        self.view = view
        if self.is_mounted:  # else on_mount draws it
            self._show(charts)

    def _show(self, charts: bool) -> None:
        view = self.view
        snapshot = view.snapshot
        self.query_one(RunHeader).show(view.title, view.state, snapshot,
                                       view.overlay_title if view.overlay else "")
        self._show_error(view.error)
        self._show_progress(snapshot, view.state)
        if charts:
            self._draw_charts()
        latest = snapshot.latest_eval if snapshot else None
        # Nothing to show under the curves before the first evaluation: they take the room.
        self.query_one("#evaluation").display = latest is not None
        self.query_one(ContentSwitcher).current = self.detail_view
        # A heatmap or the map needs the rows more than the curves do (under them, not beside).
        self.set_class(self.detail_view in LARGE_VIEWS, "-large-details")
        self.query_one(ConfusionTable).show(latest, self.normalised)
        self.query_one(PerClassTable).show(latest)
        self.query_one(ConfusedPairs).show(latest)
        self._show_closeness(latest, charts)
        self._show_details_title(latest)

    def _show_error(self, error: str | None) -> None:
        # Its own widget, as tall as it needs: a long error wraps instead of being cut off.
        line = self.query_one("#run-error", Static)
        line.display = bool(error)
        update_if_changed(line, Text(f"error: {error}", style="bold red") if error else "")

    def _show_progress(self, snapshot: RunSnapshot | None, state: str) -> None:
        bar = self.query_one(ProgressBar)
        p = progress(snapshot) if snapshot is not None else None
        if p is not None and p.total_steps:
            bar.update(total=p.total_steps, progress=p.step)
        elif state in ACTIVE:
            bar.update(total=None)  # loading: an indeterminate bar says it is working
        else:
            bar.update(total=1, progress=0)  # ended before its first step: still, not pulsing

    def _show_closeness(self, latest: EvalEvent | None, charts: bool) -> None:
        labels = latest.label_names if latest else []
        none_yet = "No evaluation yet." if latest is None else (
            "This evaluation has no affinity (the run was logged before lcl-tui recorded it).")
        self.query_one("#affinity-map", Heatmap).show(
            latest.affinity if latest else None, labels, symmetric=False, note=none_yet)
        self.query_one("#centroids-map", Heatmap).show(
            latest.centroid_similarity if latest else None, labels, symmetric=True, note=none_yet)
        if charts or self.detail_view == "map":  # the details title above says which evaluation
            cast("ScatterChart", self.query_one("#map")).show(
                latest.projection or [] if latest else [], labels, "Classes:")

    def on_chart_resized(self, event: Chart.Resized) -> None:
        # The curves were thinned to the old width (zero while the tab was hidden): a resized
        # terminal, or a finished run drawn before its tab was laid out, would keep them so.
        event.stop()
        self._draw_charts()
        latest = self.view.snapshot.latest_eval if self.view.snapshot else None
        self.query_one(ConfusionTable).show(latest, self.normalised)  # its columns fit the width

    def _draw_charts(self) -> None:
        snapshot, overlay, overlay_title = self.view.snapshot, self.view.overlay, self.view.overlay_title
        loss_chart = cast("LineChart", self.query_one("#loss-chart"))
        accuracy_chart = cast("LineChart", self.query_one("#accuracy-chart"))
        # One point per cell is all a curve can show; more only slows plotext down.
        width = max(20, loss_chart.size.width)
        terms = loss_terms(snapshot) if snapshot else ["total"]
        if self.loss_term not in terms:
            self.loss_term = "total"
        term = self.loss_term
        hint = " (t: term)" if len(terms) > 1 else ""
        losses = loss_curve(snapshot, term, width, self.smooth) if snapshot else None
        accuracy = accuracy_curves(snapshot, width, self.smooth) if snapshot else None
        overlay_loss, overlay_accuracy = {}, {}
        if overlay is not None:
            # Named by its term: the legend reads "<other run>: total".
            overlay_curves = list(loss_curve(overlay, term, width, self.smooth).curves.values())
            overlay_loss = {term: overlay_curves[0]} if overlay_curves else {}
            overlay_accuracy = {k: v for k, v in validation_series(overlay).items() if k == "val"}
        loss_chart.show(losses.curves if losses else {}, overlay_loss, overlay_title,
                        faint=losses.faint if losses else None, title=f"Loss: {term}{hint}")
        accuracy_chart.show(accuracy.curves if accuracy else {}, overlay_accuracy, overlay_title,
                            faint=accuracy.faint if accuracy else None, title="Accuracy (s: smooth)")

    def _show_details_title(self, latest: EvalEvent | None = None) -> None:
        view = self.detail_view
        title = DETAIL_TITLES[view]
        if view == "confusion":
            title += " (row %)" if self.normalised else " (counts)"
        if view == "affinity" and latest is not None and latest.affinity_source in AFFINITY_SOURCES:
            title += f": {AFFINITY_SOURCES[latest.affinity_source]}"
        if latest is not None:
            title += f" · {latest.split} @ step {latest.step}"
            if latest.examples is not None:
                title += f", {latest.examples} examples"
        keys = {"confusion": "  n: counts/%", "affinity": "  a: centroids", "centroids": "  a: affinity"}
        hint = f"  [dim]v: next view{keys.get(view, '')}[/]"
        update_if_changed(self.query_one("#details-title", Static), f"[b]{title}[/b]{hint}")

    # --- keys ----------------------------------------------------------------------------
    def action_toggle_normalised(self) -> None:
        self.normalised = not self.normalised
        self.draw(self.view, charts=False)  # the charts have not changed

    def action_cycle_details(self) -> None:
        index = (DETAIL_VIEWS.index(self.detail_view) + 1) % len(DETAIL_VIEWS)
        self.action_show_details(DETAIL_VIEWS[index])

    def action_show_affinity(self) -> None:
        """The label affinity; pressed again, the centroid similarity (and back)."""
        self.action_show_details("centroids" if self.detail_view == "affinity" else "affinity")

    def action_show_details(self, view: str) -> None:
        self.detail_view = view
        self.draw(self.view, charts=False)
        self.focus_main()

    def action_cycle_term(self) -> None:
        terms = loss_terms(self.view.snapshot) if self.view.snapshot else ["total"]
        index = terms.index(self.loss_term) if self.loss_term in terms else -1
        self.loss_term = terms[(index + 1) % len(terms)]
        self._draw_charts()

    def action_toggle_smoothing(self) -> None:
        self.smooth = not self.smooth
        self._draw_charts()

    def action_stop(self) -> None:
        self.post_message(StopRequested())

    def action_resume(self) -> None:
        self.post_message(ResumeRequested())

    def action_cycle_run(self, step: int) -> None:
        self.post_message(CycleRun(step))

    def action_clear_compare(self) -> None:
        self.post_message(ClearCompare())
