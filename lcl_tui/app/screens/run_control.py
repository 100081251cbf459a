"""Training, stopping and resuming runs: the main screen's part that starts and ends them.

Each run trains in a child process (training_process.py), waited on by a thread worker
that reads its events into the run's snapshot (`LiveRun.publish`, under a lock); the
monitor is redrawn from it on a timer, so the UI never waits on training and never loses
points to merged messages. Only the rare events (a run began, ended, saved a better
checkpoint) come back as `RunStateChanged`.
"""

from __future__ import annotations

from textual import on, work

from lcl_tui.app.messages import ResumeReady, ResumeRequested, RunStateChanged, StopRequested, TrainRequested
from lcl_tui.app.outcomes import Notice
from lcl_tui.app.run_queue import LiveRun
from lcl_tui.app.screens.base import MainScreenBase


class RunControl(MainScreenBase):
    # --- training --------------------------------------------------------------------------
    def action_train(self) -> None:
        setup = self.setup_pane
        result = setup.validate_form()
        if not result.ok:
            self.show_form_errors()
            return
        live = self.session.queue_run(result.config, setup.parallel_runs())
        self.show_selection()
        self.action_show_tab("monitor")
        self.start_ready_runs()
        self.show(self.session.queued_notice(live))

    @on(TrainRequested)
    def _on_train_requested(self) -> None:
        self.action_train()

    def start_ready_runs(self) -> None:
        for live in self.session.queue.ready_to_start():
            self._train(live)

    @work(thread=True, exit_on_error=False, group="train", description="training run")
    def _train(self, live: LiveRun) -> None:
        self.session.train(live, lambda: self.post_message(RunStateChanged(live.key)))

    @on(RunStateChanged)
    def _on_run_state_changed(self, message: RunStateChanged) -> None:
        change = self.session.run_changed(message.key)
        if change is None:
            return
        self.show(change.ended)
        self.start_ready_runs()
        if change.sweep is not None:
            self.sweep_changed(change.sweep)
        if self.prompt_pane.source is change.live:
            self.prompt_pane.check_model()  # a better checkpoint: the prompt pane reloads it
        self.action_refresh_runs()
        self.redraw(force=True)

    # --- stopping --------------------------------------------------------------------------
    def action_stop_selected(self) -> None:
        self.show_stopped(self.session.stop())

    def action_stop_all(self) -> None:
        for stopped in self.session.stop_all():
            self.show_stopped(stopped)

    @on(StopRequested)
    def _on_stop_requested(self, message: StopRequested) -> None:
        self.show_stopped(self.session.stop(message.key))

    # --- resuming --------------------------------------------------------------------------
    def action_resume_selected(self) -> None:
        self.resume_run(None)

    @on(ResumeRequested)
    def _on_resume_requested(self, message: ResumeRequested) -> None:
        self.resume_run(message.key)

    def resume_run(self, key: str | None) -> None:
        """Continue a stopped, failed or interrupted run from its last checkpoint, in the queue."""
        target = self.session.resume_target(key)
        if isinstance(target, Notice):
            self.show(target)
            return
        self._prepare_resume(target)

    @work(thread=True, exit_on_error=False, group="resume")
    def _prepare_resume(self, target: str) -> None:
        self.post_from_worker(lambda: ResumeReady(self.session.prepare_resume(target)),
                              lambda line: Notice(line, "error", title="Not resumed"))

    @on(ResumeReady)
    def _on_resume_ready(self, message: ResumeReady) -> None:
        live = message.live
        if not self.session.add_resumed(live):  # two presses raced: one resume is enough
            return
        self.show_selection()
        self.action_show_tab("monitor")
        self.start_ready_runs()
        self.show(self.session.resumed_notice(live))
