"""Background training through the keyboard, with a fast fake trainer: queue, stop, failures, quit."""

import threading

from textual.command import CommandList
from textual.widgets import TabbedContent

from lcl_tui.app.screens.dialogs import ConfirmDialog
from lcl_tui.errors import UserError

from test_app_fakes import (
    FakeTrainer,
    build_app,
    notifications,
    screen_text,
    type_into,
    wait_until,
)


class GatedTrainer(FakeTrainer):
    """Blocks every run until the test opens the gate, to observe queued/running states."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.gate = threading.Event()
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, config, **kwargs):
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            self.gate.wait(30)
            return super().__call__(config, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


async def test_second_run_waits_in_the_queue(tmp_path):
    trainer = GatedTrainer(steps=10)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await pilot.press("ctrl+t")
        await pilot.pause()
        first, second = app.session.queue.runs
        assert first.state == "starting" and second.state == "queued"
        await pilot.press("f5")
        await wait_until(pilot, lambda: "queued" in screen_text(app))
        trainer.gate.set()
        await wait_until(pilot, lambda: not app.session.queue.active)
        assert [r.state for r in app.session.queue.runs] == ["completed", "completed"]
        assert trainer.most_at_once == 1


async def test_parallel_runs_setting_trains_two_at_once(tmp_path):
    trainer = GatedTrainer(steps=10)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_into(pilot, app.main_screen.setup_pane.query_one("#concurrency"), "2")
        await pilot.press("ctrl+t", "f2", "ctrl+t")
        await wait_until(pilot, lambda: trainer.running == 2)
        trainer.gate.set()
        await wait_until(pilot, lambda: not app.session.queue.active)
        assert trainer.most_at_once == 2


async def test_stop_key_ends_a_run_within_a_step(tmp_path):
    trainer = FakeTrainer(steps=10_000, step_seconds=0.05)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs[0].version > 5)
        assert app.main_screen.active_tab == "monitor"
        await pilot.press("x")
        await wait_until(pilot, lambda: app.session.queue.runs[0].state == "stopped", timeout=5)
        live = app.session.queue.runs[0]
        assert live.run.read_status().status == "stopped"
        await wait_until(pilot, lambda: "stopped" in screen_text(app))
        # The notification follows the run's RunStateChanged message, maybe a frame after the monitor.
        await wait_until(pilot, lambda: any("Stopped" in m for m in notifications(app)))


async def test_stopping_a_queued_run_means_it_never_starts(tmp_path):
    trainer = GatedTrainer(steps=5)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t", "ctrl+t")
        await pilot.pause()
        await pilot.press("x")  # the monitor shows the newest: the queued one
        await pilot.pause()
        assert app.session.queue.runs[1].state == "stopped"
        trainer.gate.set()
        await wait_until(pilot, lambda: not app.session.queue.active)
        assert trainer.calls == 1


class FailFirst(FakeTrainer):
    def __call__(self, config, **kwargs):
        if self.calls == 0:
            self.calls += 1
            raise RuntimeError("boom in the trainer")
        return super().__call__(config, **kwargs)


async def test_an_exception_in_a_run_is_a_notification_and_the_app_keeps_working(tmp_path):
    trainer = FailFirst(steps=5)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: any("RuntimeError: boom in the trainer" in m for m in notifications(app)))
        await wait_until(pilot, lambda: "boom in the trainer" in screen_text(app))  # and under the monitor's header
        await pilot.press("f2", "ctrl+t")
        await wait_until(pilot, lambda: len(app.session.queue.runs) == 2
                                        and app.session.queue.runs[1].state == "completed")


async def test_user_error_before_training_shows_its_one_line(tmp_path):
    trainer = FakeTrainer(fail_with=UserError("data.dataset: no file named gone.csv; check the path"))
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "data.dataset: no file named gone.csv; check the path" in notifications(app))
        assert app.session.queue.runs[0].state == "failed"


async def test_quit_while_training_asks_first_and_stops_the_run(tmp_path):
    trainer = FakeTrainer(steps=10_000, step_seconds=0.05)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs[0].state == "running")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog) and app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    live = app.session.queue.runs[0]
    assert live.stop.is_set()
    assert wait_for(lambda: live.state == "stopped", 30)


def wait_for(condition, timeout):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


async def wait_for_palette_hit(pilot, app, prompt_start: str) -> None:
    """Wait until the palette's search has put `prompt_start` first and highlighted it."""

    def first_hit_is_highlighted() -> bool:
        commands = app.screen.query_one(CommandList)
        return (commands.option_count > 0 and commands.highlighted == 0
                and str(commands.get_option_at_index(0).prompt).startswith(prompt_start))

    await wait_until(pilot, first_hit_is_highlighted)


async def test_command_palette_reaches_the_main_actions(tmp_path):
    app = build_app(tmp_path, FakeTrainer(steps=5))
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"show runs")
        await wait_for_palette_hit(pilot, app, "Show runs")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.active_tab == "runs")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"train with")
        await wait_for_palette_hit(pilot, app, "Train with")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.session.queue.runs
                                        and app.session.queue.runs[0].state == "completed")
        assert app.query_one(TabbedContent).active == "monitor"
