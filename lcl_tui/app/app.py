"""The lcl-tui Textual app: the stylesheet, the command palette, quitting, and `make_app`.

The app shows one MainScreen (screens/main.py: the tabs, their keys, the timers); what the
session holds and decides (the run queue, the runs shown, the sweep) is in session.py,
with no Textual in it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

from lcl_tui.app import engine
from lcl_tui.app.commands import LclCommands
from lcl_tui.app.messages import Predicts
from lcl_tui.app.screens.base import Startup
from lcl_tui.app.screens.dialogs import ConfirmDialog
from lcl_tui.app.screens.main import MainScreen
from lcl_tui.app.session import Resume, Session, Train
from lcl_tui.app.training_process import resume_in_child, train_in_child
from lcl_tui.catalog import preset_names
from lcl_tui.config import RunConfig, load_config
from lcl_tui.runstore import RunStore

if TYPE_CHECKING:
    from lcl_tui.data import DatasetInfo


class LclTuiApp(App):
    CSS_PATH = "app.tcss"
    # Focus is given by tab (MainScreen._focus_tab): Textual's own first focus could land in
    # the setup form after a fast Ctrl+T, and focusing a widget in a hidden tab switches to it.
    AUTO_FOCUS = None
    TITLE = "lcl-tui"
    COMMANDS = App.COMMANDS | {LclCommands}

    def __init__(self, session: Session, main_screen: MainScreen):
        super().__init__()
        self.session = session
        self.main_screen = main_screen
        self.quitting = False  # the runs were asked to stop: the app ends once they have
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # A tab switch slid its underline over a dozen frames: each one sent down an SSH
            # link and drawn on a core the run could use. TEXTUAL_ANIMATIONS=full brings it back.
            self.animation_level = "none"

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    async def action_quit(self) -> None:
        if self.quitting:  # asked again while the runs stop: end them now
            self.session.kill_everything()
            return
        question = self.session.quit_question()
        if question is None:
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.stop_runs_then_exit()

        self.push_screen(ConfirmDialog(question, "Quit"), answer)

    def stop_runs_then_exit(self) -> None:
        """Each run stops after its step and keeps a checkpoint; the app ends once their
        processes have, so that none is left behind (killed if they take too long)."""
        self.quitting = True
        self.session.stop_everything()
        training = len(self.session.queue.training)
        if not training:
            self.exit()
            return
        self.notify(f"Stopping {training} run(s): each saves a checkpoint first. Ctrl+Q again ends "
                    "them at once.", title="Quitting", timeout=60)

        def exit_once_stopped() -> None:
            if not self.session.queue.training:
                waiting.stop()
                self.exit()

        waiting = self.set_interval(0.1, exit_once_stopped)

    def on_unmount(self) -> None:
        # However the app ends, its worker threads end once their runs' processes have.
        self.session.stop_everything()


def make_app(
    preset: str | None = None,
    start: bool = False,
    open_run: str | None = None,
    runs_dir: str | Path | None = None,
    sweep_file: str | None = None,
    *,
    config: RunConfig | None = None,
    train_fn: Train | None = None,
    resume_fn: Resume | None = None,
    load_predictor: Callable[[Path], Predicts] | None = None,
    list_datasets: Callable[[], list[DatasetInfo]] | None = None,
    concurrency: int = 1,
    warm_up: bool = True,
) -> LclTuiApp:
    """Build the app; tests pass a config, a fake trainer or predictor, and a tmp runs folder.
    Runs train in child processes unless a test passes a trainer of its own (`train_fn`)."""
    if config is None:
        config = load_config(preset) if preset else RunConfig()
    store = RunStore(runs_dir if runs_dir is not None else config.output.runs_dir)
    session = Session(
        store,
        train=train_fn or train_in_child,
        resume=resume_fn or resume_in_child,
        list_datasets=list_datasets or engine.list_datasets,
        concurrency=concurrency,
        preset_names=preset_names(),
    )
    screen = MainScreen(
        session,
        config=config,
        preset_name=Path(preset).stem if preset else None,
        load_predictor=load_predictor or engine.load_predictor,
        startup=Startup(open_run=open_run, sweep_file=sweep_file, train=start, warm_up=warm_up),
    )
    return LclTuiApp(session, screen)


__all__ = ["LclTuiApp", "make_app"]
