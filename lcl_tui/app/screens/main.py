"""The main screen: five tabs (setup, monitor, prompt, runs, sweep), their F-keys, focus,
and the timers that redraw the monitor and follow the runs folder.

Only the setup form is in the first frame; the other panes are mounted right after it
(textual.lazy.Lazy). The screen's handlers come from one part per concern: RunControl
(train, stop, resume), SweepControl, Selection (which runs are shown) and Presets.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane, Tabs

from lcl_tui.app import engine
from lcl_tui.app.messages import PaneMounted
from lcl_tui.app.redraw import REDRAW_SECONDS, shown_state
from lcl_tui.app.screens.presets import Presets
from lcl_tui.app.screens.run_control import RunControl
from lcl_tui.app.screens.selection import Selection
from lcl_tui.app.screens.sweep_control import SweepControl
from lcl_tui.app.widgets.footer import KeyFooter
from lcl_tui.app.widgets.monitor import MonitorPane, MonitorView
from lcl_tui.app.widgets.prompt import PromptPane
from lcl_tui.app.widgets.runs import RunsPane
from lcl_tui.app.widgets.setup_form import SetupPane
from lcl_tui.app.widgets.sweep import SweepPane
from lcl_tui.app.widgets.tabs import AppTabs

DISK_POLL_SECONDS = 2.0
FIRST_FRAME_ENV = "LCL_TUI_FIRST_FRAME_FILE"


class MainScreen(RunControl, SweepControl, Selection, Presets):
    BINDINGS = [
        # The App quits (and asks first while runs train); listed here so that the footer
        # shows Quit, before Train as it always has.
        Binding("ctrl+q", "app.quit", "Quit", priority=True, id="quit"),
        Binding("f2", "show_tab('setup')", "Setup", priority=True, show=False, id="tab.setup"),
        Binding("f3", "show_tab('monitor')", "Monitor", priority=True, show=False, id="tab.monitor"),
        Binding("f4", "show_tab('prompt')", "Prompt", priority=True, show=False, id="tab.prompt"),
        Binding("f5", "show_tab('runs')", "Runs", priority=True, show=False, id="tab.runs"),
        Binding("f6", "show_tab('sweep')", "Sweep", priority=True, show=False, id="tab.sweep"),
        Binding("ctrl+t", "train", "Train", priority=True, id="train"),
    ]

    # --- layout and start-up ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with AppTabs(initial="setup", id="tabs"):
            with TabPane("Setup F2", id="setup"):
                yield self.setup_pane
            with TabPane("Monitor F3", id="monitor"):
                yield Lazy(self.monitor_pane)
            with TabPane("Prompt F4", id="prompt"):
                yield Lazy(self.prompt_pane)
            with TabPane("Runs F5", id="runs"):
                yield Lazy(self.runs_pane)
            with TabPane("Sweep F6", id="sweep"):
                yield Lazy(self.sweep_pane)
        yield KeyFooter()

    def on_mount(self) -> None:
        # Worker threads (reading a run's events, loading a model) hold the GIL in 5 ms slices
        # by default; 1 ms slices let a key press through sooner.
        sys.setswitchinterval(0.001)
        # Tabs change with F2-F6; keeping focus out of the tab strip keeps each pane's keys live.
        self.tabs.query_one(Tabs).can_focus = False
        self.set_interval(REDRAW_SECONDS, self.redraw)
        self.set_interval(DISK_POLL_SECONDS, self.poll_disk)
        self._unmounted_panes = {self.monitor_pane, self.prompt_pane, self.runs_pane, self.sweep_pane}
        self._first_frame_report = os.environ.get(FIRST_FRAME_ENV)
        if self._first_frame_report:
            self.call_after_refresh(self._report_first_frame, Path(self._first_frame_report))

    def _report_first_frame(self, report: Path) -> None:
        """The benchmark's probe: the first frame is on screen now."""
        report.write_text(f"{time.time():.6f}\n")
        self.app.exit()

    @on(PaneMounted)
    def _on_pane_mounted(self, message: PaneMounted) -> None:
        if message.pane is self._panes[self.active_tab]:  # its tab was chosen before it was mounted
            self._focus_tab(self.active_tab)
        self._unmounted_panes.discard(message.pane)
        if not self._unmounted_panes and not self._first_frame_report:
            self._start_up()

    def _start_up(self) -> None:
        """Once every pane is mounted: what the command line asked for."""
        self.list_datasets()
        self.action_refresh_runs()
        startup = self.startup
        if startup.open_run:
            self.open_target(startup.open_run, then="prompt")
        elif startup.sweep_file:
            self.start_sweep(startup.sweep_file)
        elif startup.train:
            self.action_train()
        else:
            self._focus_tab(self.active_tab)  # a key pressed already may have changed the tab
        if startup.warm_up:
            self._warm_up_engine()

    @work(thread=True, exit_on_error=False, group="warm-up")
    def _warm_up_engine(self) -> None:
        try:
            engine.warm_up()
        except Exception:
            pass  # the first run reports the same error, with context

    # --- tabs and focus --------------------------------------------------------------------
    def action_show_tab(self, name: str) -> None:
        self.tabs.active = name
        self._focus_tab(name)

    @on(TabbedContent.TabActivated)
    def _on_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # A late message for a tab that is no longer active must not pull focus (and the tab) back.
        if event.pane.id == self.active_tab:
            self._focus_tab(event.pane.id)

    @on(KeyFooter.Clicked)
    async def _on_footer_key_clicked(self, message: KeyFooter.Clicked) -> None:
        await run_clicked_key(self, message.key)

    @property
    def _panes(self) -> dict[str, SetupPane | MonitorPane | PromptPane | RunsPane | SweepPane]:
        return {"setup": self.setup_pane, "monitor": self.monitor_pane, "prompt": self.prompt_pane,
                "runs": self.runs_pane, "sweep": self.sweep_pane}

    def _focus_tab(self, name: str) -> None:
        if not self._panes[name].focus_main():
            # Not mounted yet: a focus left behind in the old tab would pull that tab back.
            self.set_focus(None)
        if name == "monitor":
            # What changed while the tab was hidden (its timer draws only the shown tab); a
            # forced redraw would lay out the whole screen again for a run that did not move.
            self.redraw()
        elif name == "runs":
            self.action_refresh_runs()
        elif name == "sweep":
            self.show_sweep()

    # --- redrawing -------------------------------------------------------------------------
    def redraw(self, force: bool = False) -> None:
        """Draw the monitor from the selected run's snapshot when it changed (a 4 Hz timer)."""
        if self.active_tab != "monitor" and not force:
            return
        selected, compare = self.session.selected, self.session.compare
        self.redraw_clock.chart_cost = self.monitor_pane.chart_build_seconds
        due = self.redraw_clock.due(shown_state(selected, compare), time.monotonic(), force)
        if due is None:
            return
        if selected is None:
            view = MonitorView()
        else:
            view = MonitorView(selected.title, selected.state, selected.view(), selected.error,
                               compare.title if compare else "", compare.view() if compare else None)
        self.monitor_pane.draw(view, charts=due.charts)


async def run_clicked_key(screen: Screen, key: str) -> None:
    """What the screen does with `KeyFooter.Clicked`: the key's action where the key would
    run it, or a bell for a disabled one. (A simulated key press, Footer's way, arrives after
    the click's events and was lost on its way up from the setup form.)"""
    active = screen.active_bindings.get(key)
    if active is None or not active.enabled:
        screen.app.bell()
        return
    await screen.app.run_action(active.binding.action, active.node)
