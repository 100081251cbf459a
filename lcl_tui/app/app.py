"""The lcl-tui Textual app: the stylesheet, the command palette, quitting, and `make_app`.

The app shows one MainScreen (screens/main.py: the tabs, their keys, the timers); what the
session holds and decides (the run queue, the runs shown, the sweep) is in session.py,
with no Textual in it.
"""

from __future__ import annotations

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

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    async def action_quit(self) -> None:
        question = self.session.quit_question()
        if question is None:
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.session.stop_everything()
                self.exit()

        self.push_screen(ConfirmDialog(question, "Quit"), answer)

    def on_unmount(self) -> None:
        # Worker threads must end for the process to exit: the trainer checks `stop` each step.
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
    """Build the app; tests pass a config, a fake trainer or predictor, and a tmp runs folder."""
    if config is None:
        config = load_config(preset) if preset else RunConfig()
    store = RunStore(runs_dir if runs_dir is not None else config.output.runs_dir)
    session = Session(
        store,
        train=train_fn or engine.train,
        resume=resume_fn or engine.resume,
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
