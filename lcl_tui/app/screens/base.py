"""What the parts of the main screen share: the session, the panes, and showing a notice.

The main screen is put together from one class per concern (runs, sweeps, what is shown,
presets), each a subclass of this one; `MainScreen` joins them and adds the layout, the
tabs and the timers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.message import Message
from textual.screen import Screen
from textual.widgets import TabbedContent

from lcl_tui.app.messages import Predicts, RunStateChanged
from lcl_tui.app.outcomes import Notice, Stopped, SweepUpdate
from lcl_tui.app.redraw import RedrawClock
from lcl_tui.app.session import Session
from lcl_tui.app.widgets.monitor import MonitorPane
from lcl_tui.app.widgets.prompt import PromptPane
from lcl_tui.app.widgets.runs import RunsPane
from lcl_tui.app.widgets.setup_form import SetupPane
from lcl_tui.app.widgets.sweep import SweepPane
from lcl_tui.config import RunConfig
from lcl_tui.text import one_line


@dataclass(frozen=True)
class Startup:
    """What to do once the first frame is up (the command line's choices)."""

    open_run: str | None = None
    sweep_file: str | None = None
    train: bool = False
    warm_up: bool = True


class MainScreenBase(Screen):
    def __init__(self, session: Session, *, config: RunConfig, preset_name: str | None,
                 load_predictor: Callable[[Path], Predicts], startup: Startup):
        super().__init__()
        self.session = session
        self.startup = startup
        # Built now, so the screen calls them without asking whether they exist; all but the
        # setup form are mounted after the first frame (textual.lazy.Lazy) and show then what
        # they were given before.
        self.setup_pane = SetupPane(config, session.preset_names, session.queue.concurrency,
                                    preset_name=preset_name, id="setup-pane")
        self.monitor_pane = MonitorPane(id="monitor-pane")
        self.prompt_pane = PromptPane(load_predictor, id="prompt-pane")
        self.runs_pane = RunsPane(session.store.runs_dir, id="runs-pane")
        self.sweep_pane = SweepPane(id="sweep-pane")
        self.redraw_clock = RedrawClock()

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    @property
    def active_tab(self) -> str:
        return self.tabs.active

    def show(self, notice: Notice | None) -> None:
        if notice is not None:
            self.notify(notice.message, severity=notice.severity, title=notice.title, timeout=notice.timeout)

    def post_from_worker(self, produce: Callable[[], Message], failed: Callable[[str], Notice]) -> None:
        """In a worker thread: post the message `produce` makes, or show why it failed, in
        one line (a failure is a notification, never the end of the app)."""
        try:
            message = produce()
        except Exception as error:  # a UserError is its own one line
            # Rare: call_from_thread waits for the UI to take it.
            self.app.call_from_thread(self.show, failed(one_line(error)))
            return
        self.post_message(message)

    def show_form_errors(self) -> None:
        """Show the setup form with its first bad field focused, and say what is wrong."""
        setup = self.setup_pane
        self.tabs.active = "setup"
        invalid = setup.first_invalid()
        message = setup.result.general
        if invalid is not None:
            invalid.control.focus()
            setup.scroll_to_widget(invalid)
            message = setup.result.errors[invalid.spec.key]
        count = len(setup.result.errors) + (1 if setup.result.general else 0)
        self.show(Notice(f"{message}" + (f" (and {count - 1} more)" if count > 1 else ""), "error",
                         title="Fix the setup first"))

    def show_stopped(self, stopped: Stopped) -> None:
        for live in stopped.ended:  # only queued: they end now, and say so as any run does
            self.post_message(RunStateChanged(live.key))
        self.show(stopped.notice)

    def show_selection(self) -> None:
        """The selected run changed: the prompt pane follows it and the monitor redraws now."""
        self.prompt_pane.set_source(self.session.selected)
        self.redraw(force=True)

    # What one part asks of another; MainScreen and the parts define them.
    def action_show_tab(self, name: str) -> None:
        raise NotImplementedError

    def redraw(self, force: bool = False) -> None:
        raise NotImplementedError

    def action_refresh_runs(self) -> None:
        raise NotImplementedError

    def start_ready_runs(self) -> None:
        raise NotImplementedError

    def sweep_changed(self, update: SweepUpdate) -> None:
        raise NotImplementedError

    def open_target(self, target: str, compare: bool = False, then: str | None = None) -> None:
        raise NotImplementedError
