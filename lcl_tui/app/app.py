"""The lcl-tui Textual app: setup, live monitor, prompt pane and runs, in four tabs.

Training runs in thread workers; the trainer's events land in each run's snapshot
(under a lock) and the visible view is redrawn from it on a timer, so the UI never
waits on training and never loses points to merged messages.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Footer, TabbedContent, TabPane, Tabs

from lcl_tui.app import engine
from lcl_tui.app.commands import LclCommands
from lcl_tui.app.disk_run import DiskRun
from lcl_tui.app.messages import (
    DatasetsListed,
    ResumeReady,
    RunsListed,
    RunStateChanged,
    SelectRun,
    SweepPlanned,
    SweepResultsRead,
)
from lcl_tui.app.run_queue import LiveRun, RunQueue
from lcl_tui.app.screens.dialogs import ConfirmDialog, PathDialog
from lcl_tui.app.widgets.setup_form import SetupPane
from lcl_tui.app.widgets.tabs import AppTabs
from lcl_tui.catalog import preset_names
from lcl_tui.config import RunConfig, load_config, presets_dir, save_config
from lcl_tui.errors import UserError
from lcl_tui.events import CheckpointSaved, Event, RunFinished, RunStarted
from lcl_tui.runstore import RunStore

if TYPE_CHECKING:  # built after the first frame; their modules import plotext and DataTable
    from lcl_tui.app.sweep_session import SweepSession
    from lcl_tui.app.widgets.monitor import MonitorPane
    from lcl_tui.app.widgets.prompt import PromptPane
    from lcl_tui.app.widgets.runs import RunsPane
    from lcl_tui.app.widgets.sweep import SweepPane

REDRAW_SECONDS = 0.25  # 4 Hz: progress and numbers
CHART_SECONDS = 0.5  # 2 Hz: smooth enough for curves, cheap enough on two cores
DISK_POLL_SECONDS = 2.0
FIRST_FRAME_ENV = "LCL_TUI_FIRST_FRAME_FILE"

RunSource = LiveRun | DiskRun


def attached(widget: Any) -> bool:
    """Built, mounted and in the DOM: false before the hidden panes exist and while the app closes."""
    return widget is not None and widget.is_mounted and widget.is_attached


def one_line(error: BaseException) -> str:
    if isinstance(error, UserError):
        return str(error)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


class LclTuiApp(App):
    CSS_PATH = "app.tcss"
    # Focus is given by tab (_focus_tab): Textual's own first focus could land in the setup
    # form after a fast Ctrl+T, and focusing a widget in a hidden tab switches to that tab.
    AUTO_FOCUS = None
    TITLE = "lcl-tui"
    COMMANDS = App.COMMANDS | {LclCommands}
    BINDINGS = [
        Binding("f2", "show_tab('setup')", "Setup", priority=True, show=False, id="tab.setup"),
        Binding("f3", "show_tab('monitor')", "Monitor", priority=True, show=False, id="tab.monitor"),
        Binding("f4", "show_tab('prompt')", "Prompt", priority=True, show=False, id="tab.prompt"),
        Binding("f5", "show_tab('runs')", "Runs", priority=True, show=False, id="tab.runs"),
        Binding("f6", "show_tab('sweep')", "Sweep", priority=True, show=False, id="tab.sweep"),
        Binding("ctrl+t", "train", "Train", priority=True, id="train"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
    ]

    def __init__(
        self,
        *,
        config: RunConfig,
        preset_name: str | None,
        store: RunStore,
        start: bool = False,
        open_run: str | None = None,
        sweep_file: str | None = None,
        train_fn: Callable[..., Any] = engine.train,
        resume_fn: Callable[..., Any] = engine.resume,
        load_predictor: Callable[[Path], Any] = engine.load_predictor,
        list_datasets: Callable[[], list[Any]] = engine.list_datasets,
        concurrency: int = 1,
        warm_up: bool = True,
    ):
        super().__init__()
        self.initial_config = config
        self.initial_preset = preset_name
        self.store = store
        self.start_at_once = start
        self.open_run = open_run
        self.sweep_file = sweep_file
        self.sweep: SweepSession | None = None
        self.train_fn = train_fn
        self.resume_fn = resume_fn
        self.load_predictor = load_predictor
        self.list_datasets_fn = list_datasets
        self.warm_up = warm_up
        self.queue = RunQueue(concurrency)
        self.preset_names = preset_names()
        self.run_summaries: list[Any] = []
        self.selected: RunSource | None = None
        self.compare: RunSource | None = None
        self._disk_runs: dict[str, DiskRun] = {}
        self._drawn: tuple | None = None
        self._charts_drawn: tuple | None = None
        self._charts_drawn_at = 0.0
        # Held, not queried: a dialog or the palette may be the active screen when workers report.
        # Only the setup form is in the first frame; the other panes are built right after it.
        self.setup_pane = SetupPane(config, self.preset_names, self.queue.concurrency,
                                    preset_name=preset_name, id="setup-pane")
        self.monitor_pane: MonitorPane | None = None
        self.prompt_pane: PromptPane | None = None
        self.runs_pane: RunsPane | None = None
        self.sweep_pane: SweepPane | None = None

    # --- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with AppTabs(initial="setup", id="tabs"):
            with TabPane("Setup F2", id="setup"):
                yield self.setup_pane
            # The hidden tabs are filled after the first frame (see _after_first_frame).
            yield TabPane("Monitor F3", id="monitor")
            yield TabPane("Prompt F4", id="prompt")
            yield TabPane("Runs F5", id="runs")
            yield TabPane("Sweep F6", id="sweep")
        yield Footer()

    def on_mount(self) -> None:
        # The trainer's Python code holds the GIL in 5 ms slices by default; 1 ms slices let
        # a key press through sooner while a run trains in this process.
        sys.setswitchinterval(0.001)
        # Tabs change with F2-F5; keeping focus out of the tab strip keeps each pane's keys live.
        self.tabs.query_one(Tabs).can_focus = False
        self.set_interval(REDRAW_SECONDS, self.redraw)
        self.set_interval(DISK_POLL_SECONDS, self.poll_disk)
        self.call_after_refresh(self._after_first_frame)

    async def _build_hidden_panes(self) -> None:
        from lcl_tui.app.widgets.monitor import MonitorPane
        from lcl_tui.app.widgets.prompt import PromptPane
        from lcl_tui.app.widgets.runs import RunsPane
        from lcl_tui.app.widgets.sweep import SweepPane

        self.monitor_pane = MonitorPane(id="monitor-pane")
        self.prompt_pane = PromptPane(self.load_predictor, id="prompt-pane")
        self.runs_pane = RunsPane(self.store.runs_dir, id="runs-pane")
        self.sweep_pane = SweepPane(id="sweep-pane")
        tabs = self.tabs
        for name, pane in (("monitor", self.monitor_pane), ("prompt", self.prompt_pane),
                           ("runs", self.runs_pane), ("sweep", self.sweep_pane)):
            await tabs.get_pane(name).mount(pane)
        if self.selected is not None:  # chosen (Ctrl+T) before the panes existed
            self.prompt_pane.set_source(self.selected)
        self._focus_tab(self.active_tab)

    async def _after_first_frame(self) -> None:
        report = os.environ.get(FIRST_FRAME_ENV)
        if report:
            # The benchmark's probe: the first frame is on screen now.
            Path(report).write_text(f"{time.time():.6f}\n")
            self.exit()
            return
        await self._build_hidden_panes()
        self._list_datasets()
        self.action_refresh_runs()
        if self.open_run:
            self.open_target(self.open_run, then="prompt")
        elif self.sweep_file:
            self.start_sweep(self.sweep_file)
        elif self.start_at_once:
            self.action_train()
        else:
            self._focus_tab(self.active_tab)  # a key pressed already may have changed the tab
        if self.warm_up:
            self._warm_up_engine()

    @work(thread=True, exit_on_error=False, group="warm-up")
    def _warm_up_engine(self) -> None:
        try:
            engine.warm_up()
        except Exception:
            pass  # the first run reports the same error, with context

    # --- tabs ---------------------------------------------------------------------------
    @property
    def tabs(self) -> TabbedContent:
        return self.screen_stack[0].query_one(TabbedContent)

    @property
    def active_tab(self) -> str:
        return self.tabs.active

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a dialog is open its keys win: F-keys and Ctrl+T must not act behind it.
        if action in ("show_tab", "train", "open_sweep_file") and len(self.screen_stack) > 1:
            return False
        return True

    def action_show_tab(self, name: str) -> None:
        self.tabs.active = name
        self._focus_tab(name)

    @on(TabbedContent.TabActivated)
    def _on_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # A late message for a tab that is no longer active must not pull focus (and the tab) back.
        if event.pane.id == self.active_tab:
            self._focus_tab(event.pane.id)

    def _focus_tab(self, name: str) -> None:
        panes = {"setup": self.setup_pane, "monitor": self.monitor_pane, "prompt": self.prompt_pane,
                 "runs": self.runs_pane, "sweep": self.sweep_pane}
        if attached(panes.get(name)):
            panes[name].focus_main()
        else:
            # Not built yet: a focus left behind in the old tab would pull that tab back.
            self.screen_stack[0].set_focus(None)
        if name == "monitor":
            self.redraw(force=True)
        elif name == "runs":
            self.action_refresh_runs()
        elif name == "sweep":
            self._show_sweep()

    # --- presets ------------------------------------------------------------------------
    def load_preset(self, name_or_path: str) -> None:
        try:
            config = load_config(name_or_path)
        except UserError as error:
            self.notify(str(error), severity="error", title="Preset not loaded")
            return
        name = Path(name_or_path).stem if name_or_path.endswith(".toml") else name_or_path
        self.setup_pane.fill(config, name)
        self.notify(f"Loaded preset {name}")

    def action_save_preset(self) -> None:
        setup = self.setup_pane
        result = setup.validate_form()
        if not result.ok:
            self._show_form_errors()
            return
        default = presets_dir() / f"{result.config.name or 'experiment'}.toml"

        def save(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            if target.suffix != ".toml":
                target = target.with_suffix(".toml")
            try:
                save_config(result.config, target)
            except OSError as error:
                self.notify(f"Could not save {target}: {error.strerror}", severity="error")
                return
            if target.parent.resolve() == presets_dir().resolve() and target.stem not in self.preset_names:
                self.preset_names.append(target.stem)
                self.preset_names.sort()
            self.notify(f"Saved preset to {target}")

        self.push_screen(PathDialog("Save the setup as a TOML preset:", str(default), "Save"), save)

    def action_open_preset_file(self) -> None:
        def load(path: str | None) -> None:
            if path:
                self.load_preset(path)

        self.push_screen(PathDialog("Open a TOML preset (a path or a preset name):", "", "Open"), load)

    @work(thread=True, exit_on_error=False, group="datasets")
    def _list_datasets(self) -> None:
        try:
            datasets = self.list_datasets_fn()
        except Exception as error:  # the form still takes a typed name or path
            self.call_from_thread(self.notify, f"Dataset list unavailable: {one_line(error)}",
                                  severity="warning")
            return
        self.post_message(DatasetsListed(datasets))

    @on(DatasetsListed)
    def _on_datasets(self, message: DatasetsListed) -> None:
        if not attached(self.setup_pane):
            return  # the app is closing
        self.setup_pane.set_datasets(message.datasets)

    # --- training -----------------------------------------------------------------------
    def _show_form_errors(self) -> None:
        setup = self.setup_pane
        self.tabs.active = "setup"
        invalid = setup.first_invalid()
        message = setup.result.general
        if invalid is not None:
            invalid.control.focus()
            setup.scroll_to_widget(invalid)
            message = setup.result.errors[invalid.spec.key]
        count = len(setup.result.errors) + (1 if setup.result.general else 0)
        self.notify(f"{message}" + (f" (and {count - 1} more)" if count > 1 else ""),
                    severity="error", title="Fix the setup first")

    def action_train(self) -> None:
        setup = self.setup_pane
        result = setup.validate_form()
        if not result.ok:
            self._show_form_errors()
            return
        parallel = setup.parallel_runs()
        if parallel is not None:
            self.queue.concurrency = parallel
        config = result.config.replace(**{"output.runs_dir": str(self.store.runs_dir)})
        live = self.queue.add(LiveRun(config, self.store.runs_dir))
        self.select(live)
        self.action_show_tab("monitor")
        self.start_ready_runs()
        if live.state == "queued":
            self.notify(f"Queued {config.name}: {len(self.queue.training)} run(s) training, "
                        f"{self.queue.concurrency} at a time")
        else:
            self.notify(f"Training {config.name} (the model loads first)")

    def start_ready_runs(self) -> None:
        for live in self.queue.ready_to_start():
            self._train(live)

    @work(thread=True, exit_on_error=False, group="train", description="training run")
    def _train(self, live: LiveRun) -> None:
        def on_event(event: Event) -> None:
            # Called in this thread: only the rare events become messages.
            if isinstance(event, (RunStarted, RunFinished)) or (isinstance(event, CheckpointSaved) and event.best):
                self.post_message(RunStateChanged(live.key))

        try:
            if live.prepare is not None:
                live.prepare()
            if live.resume_from is not None:
                result = self.resume_fn(live.resume_from, live.resume_from.parent, stop=live.stop,
                                        subscribers=[live.publish, on_event])
            else:
                result = self.train_fn(live.config, store=self.store, stop=live.stop,
                                       subscribers=[live.publish, on_event])
        except Exception as error:  # a failed run is a notification, never the end of the app
            live.finish("failed", one_line(error))
        else:
            status = getattr(result, "status", None) or ("stopped" if live.stop.is_set() else "completed")
            if live.run is None and getattr(result, "run", None) is not None:
                live.run = result.run
            live.finish(status)
        finally:
            live.occupies_slot = False
            self.post_message(RunStateChanged(live.key))

    @on(RunStateChanged)
    def _on_run_state_changed(self, message: RunStateChanged) -> None:
        live = self.queue.find(message.key)
        if live is None:
            return
        if not live.active and not live.reported:
            live.reported = True
            if live.state == "failed":
                self.notify(live.error or "training failed", severity="error",
                            title=f"Run failed: {live.title}", timeout=12)
            elif live.state == "stopped":
                self.notify(f"Stopped {live.title}", severity="warning")
            else:
                self.notify(f"Finished {live.title}")
        self.start_ready_runs()
        self._sweep_run_changed(live)
        if not attached(self.prompt_pane):
            return  # the app is closing
        if self.prompt_pane.source is live:
            self.prompt_pane.check_model()
        self.action_refresh_runs()
        self.redraw(force=True)

    # --- sweeps -------------------------------------------------------------------------
    def action_open_sweep_file(self) -> None:
        default = "sweeps/" if Path("sweeps").is_dir() else ""

        def start(path: str | None) -> None:
            if path:
                self.start_sweep(path)

        self.push_screen(PathDialog("Run a sweep file (TOML: base, seeds, grid, variants):", default,
                                    "Run sweep"), start)

    def start_sweep(self, path: str) -> None:
        """Read and plan the sweep in a worker (it reads every run folder it names), then queue it."""
        if self.sweep is not None and self.sweep.active:
            self.notify(f"Sweep {self.sweep.name} is still running: stop it (x in the sweep tab) first",
                        severity="warning")
            return
        self._plan_sweep(str(Path(path).expanduser()))

    @work(thread=True, exit_on_error=False, group="sweep")
    def _plan_sweep(self, path: str) -> None:
        from lcl_tui.app.sweep_session import SweepSession  # not needed for the first frame

        try:
            session = SweepSession.load(path, self.store)
            session.refresh_results()  # what earlier runs of it already hold
        except Exception as error:  # a UserError is its own one line
            self.call_from_thread(self.notify, one_line(error), severity="error", title="Sweep not started")
            return
        self.post_message(SweepPlanned(session))

    @on(SweepPlanned)
    def _on_sweep_planned(self, message: SweepPlanned) -> None:
        if self.sweep is not None and self.sweep.active:  # two starts raced; the first one won
            return
        session: SweepSession = message.session
        self.sweep = session
        parallel = self.setup_pane.parallel_runs()
        if parallel is not None:
            self.queue.concurrency = parallel
        queued = session.enqueue(self.queue)
        self._show_sweep()
        self.action_show_tab("sweep")
        if not queued:
            self.notify(f"Sweep {session.name}: all {len(session.plan)} runs are done already")
            session.write_requested = True
            self._read_sweep_results(session, write=True)
            return
        self.notify(f"Sweep {session.name}: {len(queued)} run(s) to train, {session.skipped} done before; "
                    f"{self.queue.concurrency} at a time")
        self.start_ready_runs()

    def action_stop_sweep(self) -> None:
        if self.sweep is None or not self.sweep.active:
            self.notify("No sweep is running", severity="warning")
            return
        for live in self.sweep.stop(self.queue):
            if live.state == "stopped":  # it was only queued
                self.post_message(RunStateChanged(live.key))
        self.notify(f"Stopping sweep {self.sweep.name}: the training run ends after its current step")

    @work(thread=True, exit_on_error=False, group="sweep-results")
    def _read_sweep_results(self, session: SweepSession, write: bool = False) -> None:
        try:
            session.refresh_results()
            if write:
                session.write()
        except Exception as error:  # a damaged run folder or a full disk: say so, keep the app
            self.call_from_thread(self.notify, f"Sweep results not updated: {one_line(error)}",
                                  severity="warning")
            return
        self.post_message(SweepResultsRead(session, written=write))

    @on(SweepResultsRead)
    def _on_sweep_results(self, message: SweepResultsRead) -> None:
        self._show_sweep()
        if message.written and message.session.results_paths is not None:
            markdown = message.session.results_paths[0]
            self.notify(f"Sweep {message.session.name} ended: results in {markdown} (and .csv)",
                        timeout=12)

    def _sweep_run_changed(self, live: LiveRun) -> None:
        session = self.sweep
        if session is None or not session.owns(live):
            return
        self._show_sweep()
        # The trainer says "finished" a little before its last files are written; its thread's
        # end (the slot freed) means the result is on disk. The last one writes the tables.
        if not live.active and not live.occupies_slot:
            write = not session.active and not session.write_requested
            session.write_requested |= write
            self._read_sweep_results(session, write=write)

    def _show_sweep(self) -> None:
        if attached(self.sweep_pane):
            try:
                self.sweep_pane.show(self.sweep)
            except NoMatches:
                pass  # the app is closing

    # --- resuming -----------------------------------------------------------------------
    def action_resume_selected(self) -> None:
        if self.selected is None:
            self.notify("No run selected", severity="warning")
            return
        self.resume_run(self.selected.key)

    def resume_run(self, key: str) -> None:
        """Continue a stopped, failed or interrupted run from its last checkpoint, in the queue."""
        live = self.queue.find(key) or self._live_for_path(key)
        if live is not None and live.active:
            self.notify(f"{live.title} is {live.state} already", severity="warning")
            return
        if live is not None and live.run is None:
            self.notify("That run never started: train it again instead", severity="warning")
            return
        self._prepare_resume(str(live.run.path) if live is not None else key)

    @work(thread=True, exit_on_error=False, group="resume")
    def _prepare_resume(self, target: str) -> None:
        try:
            run = self.store.open(target)
            engine.resumable_checkpoint(run)
            live = LiveRun.resuming(run)
        except Exception as error:  # a UserError is its own one line
            self.call_from_thread(self.notify, one_line(error), severity="error", title="Not resumed")
            return
        self.post_message(ResumeReady(live))

    @on(ResumeReady)
    def _on_resume_ready(self, message: ResumeReady) -> None:
        live: LiveRun = message.live
        earlier = self._live_for_path(str(live.run.path))
        if earlier is not None and earlier.active:  # two presses raced: one resume is enough
            return
        self.queue.add(live)
        self.select(live)
        self.action_show_tab("monitor")
        self.start_ready_runs()
        steps = live.view().last_step
        where = f" from step {steps.step}" if steps is not None else ""
        self.notify(f"Resuming {live.title}{where}" + (" (queued)" if live.state == "queued" else ""))

    # --- stopping -----------------------------------------------------------------------
    def action_stop_selected(self) -> None:
        if self.selected is None:
            self.notify("No run selected", severity="warning")
            return
        self.stop_run(self.selected.key)

    def stop_run(self, key: str) -> None:
        live = self.queue.find(key) or self._live_for_path(key)
        if live is None:
            source = self._disk_runs.get(key)
            if source is not None and source.state == "running":
                self.notify("That run is trained by another process; stop it there.", severity="warning")
            else:
                self.notify("That run is not training", severity="warning")
            return
        if not live.active:
            self.notify(f"{live.title} is not training ({live.state})", severity="warning")
            return
        self.queue.cancel(live)
        if live.state == "stopped":  # it was only queued
            self.post_message(RunStateChanged(live.key))
        else:
            self.notify(f"Stopping {live.title}: it ends after the current step")

    def action_stop_all(self) -> None:
        for live in self.queue.active:
            self.stop_run(live.key)

    async def action_quit(self) -> None:
        training = self.queue.active
        if not training:
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._stop_everything()
                self.exit()

        self.push_screen(ConfirmDialog(
            f"{len(training)} run(s) queued or training. Quitting stops them; what they wrote "
            "stays in the runs folder. Quit?", "Quit"), answer)

    def _stop_everything(self) -> None:
        for live in self.queue.runs:
            live.stop.set()

    def on_unmount(self) -> None:
        # Worker threads must end for the process to exit: the trainer checks `stop` each step.
        self._stop_everything()

    # --- choosing what to show -------------------------------------------------------------
    def _live_for_path(self, key: str) -> LiveRun | None:
        # The newest: a run stopped and resumed in this session has a LiveRun for each attempt.
        return next((r for r in reversed(self.queue.runs) if r.run is not None and str(r.run.path) == key),
                    None)

    def resolve(self, target: str) -> RunSource:
        """A session run by key, or a run folder by path or id (raises UserError)."""
        live = self.queue.find(target) or self._live_for_path(target)
        if live is not None:
            return live
        run = self.store.open(target)
        live = self._live_for_path(str(run.path))
        if live is not None:
            return live
        key = str(run.path)
        if key not in self._disk_runs:
            self._disk_runs[key] = DiskRun(run)
        return self._disk_runs[key]

    @on(SelectRun)
    def _on_select_run(self, message: SelectRun) -> None:
        self.open_target(message.target, compare=message.compare, then=message.then)

    def open_target(self, target: str, compare: bool = False, then: str | None = None) -> None:
        try:
            source = self.resolve(target)
        except UserError as error:
            self.notify(str(error), severity="error")
            return
        if compare:
            if self.selected is None or source is self.selected:
                self.select(source)
                self.notify("Opened it; now choose a second run and press c to overlay it")
            else:
                self.compare = source
                self.notify(f"Overlaying {source.title} on {self.selected.title}")
        else:
            self.select(source)
        if isinstance(source, DiskRun):
            self._reload_disk_run(source)
        if then:
            self.action_show_tab(then)

    def select(self, source: RunSource) -> None:
        self.selected = source
        if self.compare is source:
            self.compare = None
        if attached(self.prompt_pane):
            self.prompt_pane.set_source(source)
        self.redraw(force=True)

    def action_cycle_run(self, step: int) -> None:
        sources: list[RunSource] = list(self.queue.runs)
        sources += [d for d in self._disk_runs.values() if d not in sources]
        if not sources:
            self.notify("No runs to cycle through yet", severity="warning")
            return
        index = sources.index(self.selected) if self.selected in sources else -1
        self.select(sources[(index + step) % len(sources)])

    def action_clear_compare(self) -> None:
        if self.compare is not None:
            self.compare = None
            self.redraw(force=True)

    def action_toggle_normalised(self) -> None:
        if attached(self.monitor_pane):
            self.monitor_pane.action_toggle_normalised()

    def action_cycle_details(self) -> None:
        if attached(self.monitor_pane):
            self.monitor_pane.action_cycle_details()

    # --- redrawing --------------------------------------------------------------------------
    def redraw(self, force: bool = False) -> None:
        """Draw the monitor from the selected run's snapshot when it changed (timer, 4 Hz)."""
        if not attached(self.monitor_pane) or (self.active_tab != "monitor" and not force):
            return
        selected, compare = self.selected, self.compare
        state = (
            selected.key if selected else None, selected.version if selected else None,
            selected.state if selected else None,
            compare.key if compare else None, compare.version if compare else None,
        )
        now = time.monotonic()
        # Building a plotext chart costs tens of ms: charts follow at most at 2 Hz, so a key
        # press rarely waits behind one; the header and progress keep the 4 Hz.
        charts_due = force or now - self._charts_drawn_at >= CHART_SECONDS
        charts_stale = state != self._charts_drawn
        if state == self._drawn and not (charts_stale and charts_due) and not force:
            return
        draw_charts = charts_stale and charts_due or force
        self._drawn = state
        if draw_charts:
            self._charts_drawn, self._charts_drawn_at = state, now
        monitor = self.monitor_pane
        try:
            if selected is None:
                monitor.draw("", "", None)
                return
            monitor.draw(
                selected.title, selected.state, selected.view(), selected.error,
                compare.title if compare else "", compare.view() if compare else None,
                charts=draw_charts,
            )
        except NoMatches:
            pass  # the app is closing: its widgets go before the timers stop

    def poll_disk(self) -> None:
        """Follow runs that another process writes, and keep the runs list current."""
        for source in (self.selected, self.compare):
            if isinstance(source, DiskRun) and source.state in ("running", "unknown"):
                self._reload_disk_run(source)
        if self.active_tab == "runs":
            self.action_refresh_runs()

    @work(thread=True, exit_on_error=False, group="disk")
    def _reload_disk_run(self, source: DiskRun) -> None:
        source.reload()

    def action_refresh_runs(self) -> None:
        self._list_runs()

    @work(thread=True, exclusive=True, exit_on_error=False, group="list-runs")
    def _list_runs(self) -> None:
        summaries = []
        for run in self.store.runs():
            try:
                summaries.append(run.summary())
            except Exception:  # a damaged folder must not hide the others
                continue
        self.post_message(RunsListed(summaries))

    @on(RunsListed)
    def _on_runs_listed(self, message: RunsListed) -> None:
        self.run_summaries = message.summaries
        if not attached(self.runs_pane):
            return  # not built yet, or the app is closing
        try:
            self.runs_pane.table.show(message.summaries, self.queue.runs)
        except NoMatches:
            pass  # the app is closing


def make_app(
    preset: str | None = None,
    start: bool = False,
    open_run: str | None = None,
    runs_dir: str | Path | None = None,
    sweep_file: str | None = None,
    *,
    config: RunConfig | None = None,
    train_fn: Callable[..., Any] | None = None,
    resume_fn: Callable[..., Any] | None = None,
    load_predictor: Callable[[Path], Any] | None = None,
    list_datasets: Callable[[], list[Any]] | None = None,
    concurrency: int = 1,
    warm_up: bool = True,
) -> LclTuiApp:
    """Build the app; tests pass a config, a fake trainer or predictor, and a tmp runs folder."""
    if config is None:
        config = load_config(preset) if preset else RunConfig()
    preset_name = Path(preset).stem if preset else None
    store = RunStore(runs_dir if runs_dir is not None else config.output.runs_dir)
    return LclTuiApp(
        config=config,
        preset_name=preset_name,
        store=store,
        start=start,
        open_run=open_run,
        sweep_file=sweep_file,
        train_fn=train_fn or engine.train,
        resume_fn=resume_fn or engine.resume,
        load_predictor=load_predictor or engine.load_predictor,
        list_datasets=list_datasets or engine.list_datasets,
        concurrency=concurrency,
        warm_up=warm_up,
    )


__all__ = ["LclTuiApp", "make_app"]
