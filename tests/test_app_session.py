"""The app session's rules without an App: queueing, training, stopping, resuming, choosing
what is shown, sweeps and presets (lcl_tui.app.session), and when the monitor redraws."""

import sys

import pytest

from lcl_tui.app.disk_run import NOT_READ, DiskRun
from lcl_tui.app.outcomes import Notice, PresetLoaded
from lcl_tui.app.redraw import RedrawClock, shown_state
from lcl_tui.app.run_queue import LiveRun
from lcl_tui.app.session import Session
from lcl_tui.config import RunConfig, save_config
from lcl_tui.errors import UserError
from lcl_tui.run_state import RunState
from lcl_tui.runstore import RunStore

from test_app_fakes import FakeTrainer, fake_datasets, write_fake_run


def make_session(tmp_path, trainer=None, concurrency=1, resume=None) -> Session:
    def no_resume(*args, **kwargs):
        raise AssertionError("this test resumes nothing")

    return Session(RunStore(tmp_path / "runs"), train=trainer or FakeTrainer(steps=5),
                   resume=resume or no_resume, list_datasets=fake_datasets, concurrency=concurrency)


def trained(session: Session, live: LiveRun) -> list[str]:
    """Train `live` here, as the screen's worker would; returns what `changed` was told."""
    changes = []
    session.train(live, lambda: changes.append(live.state))
    return changes


# --- training ----------------------------------------------------------------------------------
def test_a_run_is_queued_selected_and_announced_by_whether_it_waits(tmp_path):
    session = make_session(tmp_path)
    first = session.queue_run(RunConfig(name="first"), parallel=None)
    assert session.selected is first and first.config.output.runs_dir == str(tmp_path / "runs")
    assert session.queue.ready_to_start() == [first]
    assert session.queued_notice(first) == Notice("Training first (the model loads first)")
    second = session.queue_run(RunConfig(name="second"), parallel=None)
    assert session.queue.ready_to_start() == [] and session.selected is second
    assert session.queued_notice(second) == Notice("Queued second: 1 run(s) training, 1 at a time")
    session.queue_run(RunConfig(name="third"), parallel=3)
    assert session.queue.concurrency == 3


def test_train_runs_to_the_end_and_says_so_on_the_rare_events(tmp_path):
    session = make_session(tmp_path, FakeTrainer(steps=20))
    live = session.queue_run(RunConfig(name="x"), parallel=None)
    session.queue.ready_to_start()
    changes = trained(session, live)
    assert live.state == RunState.COMPLETED and not live.occupies_slot
    assert live.run is not None and live.run.read_status().status == "completed"
    # Started, two better checkpoints, finished, and the thread's end; never once per step.
    assert changes == [RunState.RUNNING, RunState.RUNNING, RunState.RUNNING, RunState.COMPLETED,
                       RunState.COMPLETED]
    change = session.run_changed(live.key)
    assert change.live is live and change.ended == Notice(f"Finished {live.run.run_id}")
    assert change.sweep is None
    assert session.run_changed(live.key).ended is None  # said once
    assert session.run_changed("session-none") is None


def test_runs_side_by_side_are_given_a_share_of_the_cores(tmp_path):
    from lcl_tui.app.training_process import threads_per_run

    given = []

    class CountingThreads(FakeTrainer):
        def __call__(self, config, *, threads=None, **kwargs):
            given.append(threads)
            return super().__call__(config, threads=threads, **kwargs)

    session = make_session(tmp_path, CountingThreads(steps=2))
    for parallel in (1, 2):
        live = session.queue_run(RunConfig(name=f"x{parallel}"), parallel=parallel)
        session.queue.ready_to_start()
        trained(session, live)
    assert given == [None, threads_per_run(2)]  # alone: torch's default, every core


@pytest.mark.parametrize("error, said", [
    (RuntimeError("boom\nTraceback lines"), "RuntimeError: boom"),
    (UserError("data.dataset: no file named gone.csv; check the path"),
     "data.dataset: no file named gone.csv; check the path"),
])
def test_a_failed_run_ends_failed_with_its_error_in_one_line(tmp_path, error, said):
    session = make_session(tmp_path, FakeTrainer(fail_with=error))
    live = session.queue_run(RunConfig(name="x"), parallel=None)
    session.queue.ready_to_start()
    assert trained(session, live) == [RunState.FAILED]
    assert live.error == said
    assert session.run_changed(live.key).ended == Notice(said, "error", title="Run failed: x", timeout=12)


# --- stopping ----------------------------------------------------------------------------------
def test_stopping_says_what_happened(tmp_path):
    session = make_session(tmp_path)
    assert session.stop() == session.stop(None)
    assert session.stop().notice == Notice("No run selected", "warning")
    training = session.queue_run(RunConfig(name="a"), parallel=None)
    waiting = session.queue_run(RunConfig(name="b"), parallel=None)
    session.queue.ready_to_start()
    stopped = session.stop()  # the selected one: only queued, so it ends now
    assert stopped.ended == (waiting,) and stopped.notice is None and waiting.state == RunState.STOPPED
    assert session.stop(training.key).notice == Notice("Stopping a: it ends after the current step (x again: "
                                                       "at once)")
    assert training.stop.is_set() and not training.stop.killed
    # Asked again: its process is killed; the run then reads interrupted.
    assert session.stop(training.key).notice == Notice(
        "Ending a now: it reads interrupted; resume it (u) from its last checkpoint", "warning")
    assert training.stop.killed
    assert session.stop(waiting.key).notice == Notice("b is not training (stopped)", "warning")
    assert session.stop("no-such-run").notice == Notice("That run is not training", "warning")


def test_a_run_another_process_trains_is_not_stopped_here(tmp_path):
    session = make_session(tmp_path)
    run = write_fake_run(tmp_path / "runs", "20231114-elsewhere", upto=30, status="running")
    opened = session.open(str(run.path))
    opened.source.reload()
    elsewhere = Notice("That run is trained by another process; stop it there.", "warning")
    assert session.stop(str(run.path)).notice == elsewhere  # from the runs list
    assert session.stop().notice == elsewhere  # the selected run, from the monitor


def test_stop_all_and_the_quit_question(tmp_path):
    session = make_session(tmp_path)
    assert session.quit_question() is None
    runs = [session.queue_run(RunConfig(name=n), parallel=None) for n in "ab"]
    assert session.quit_question().startswith("2 run(s) queued or training.")
    session.queue.ready_to_start()
    outcomes = session.stop_all()
    assert [o.ended for o in outcomes] == [(), (runs[1],)]
    assert all(r.stop.is_set() for r in runs)


# --- resuming ----------------------------------------------------------------------------------
def test_resume_checks_before_it_reads_anything(tmp_path):
    session = make_session(tmp_path)
    assert session.resume_target() == Notice("No run selected", "warning")
    live = session.queue_run(RunConfig(name="a"), parallel=None)
    assert session.resume_target() == Notice("a is queued already", "warning")
    session.queue.cancel(live)
    assert session.resume_target() == Notice("That run never started: train it again instead", "warning")
    assert session.resume_target("runs/some-id") == "runs/some-id"  # a folder: the worker checks it


def test_a_run_opened_from_disk_resumes_from_its_folder(tmp_path):
    seen = []

    def resume(run_path, runs_dir, *, stop, subscribers, threads=None):
        seen.append((run_path, runs_dir))

    session = make_session(tmp_path, resume=resume)
    run = write_fake_run(tmp_path / "runs", "20231114-stopped", total=100, upto=40, status="stopped")
    (run.last_checkpoint / "training_state.json").write_text("{}")
    session.open(run.run_id)
    target = session.resume_target()  # the selected DiskRun: its folder
    assert target == str(run.path)
    live = session.prepare_resume(target)
    assert live.resume_from == run.path and len(live.view().steps) == 40
    assert session.add_resumed(live) and session.selected is live
    assert not session.add_resumed(LiveRun.resuming(run))  # a second press raced: one is enough
    assert session.resumed_notice(live) == Notice("Resuming 20231114-stopped from step 40 (queued)")
    session.queue.ready_to_start()
    trained(session, live)
    assert seen == [(run.path, run.path.parent)]


def test_a_run_without_a_checkpoint_is_not_resumed(tmp_path):
    session = make_session(tmp_path)
    write_fake_run(tmp_path / "runs", "20231115-early", total=100, upto=40, status="stopped")
    with pytest.raises(UserError, match="no checkpoint to resume from"):
        session.prepare_resume("20231115-early")


# --- choosing what is shown --------------------------------------------------------------------
def test_open_compare_cycle_and_clear(tmp_path):
    session = make_session(tmp_path)
    runs = tmp_path / "runs"
    a = write_fake_run(runs, "20231114-a")
    b = write_fake_run(runs, "20231115-b")
    assert session.open("no-such-run").notice.severity == "error" and session.selected is None
    assert session.cycle(1) is None
    opened = session.open(str(b.path), compare=True)  # nothing to compare with: opened instead
    assert session.selected is opened.source and session.compare is None
    assert opened.notice == Notice("Opened it; now choose a second run and press c to overlay it")
    overlay = session.open(a.run_id, compare=True)
    assert session.compare is overlay.source and overlay.notice == Notice("Overlaying 20231114-a on 20231115-b")
    assert isinstance(overlay.source, DiskRun) and overlay.source.key == str(a.path)
    assert session.resolve(str(a.path)) is overlay.source  # one DiskRun per folder
    assert session.cycle(1) is overlay.source and session.compare is None  # selecting it drops the overlay
    assert session.cycle(1).title == "20231115-b"
    session.compare = overlay.source
    assert session.clear_compare() and not session.clear_compare()


def test_a_session_run_is_found_by_its_folder_and_disk_runs_are_followed_while_running(tmp_path):
    session = make_session(tmp_path)
    live = session.queue_run(RunConfig(name="x"), parallel=None)
    session.queue.ready_to_start()
    trained(session, live)
    assert session.resolve(live.run.run_id) is live  # not a second, on-disk copy
    elsewhere = write_fake_run(tmp_path / "runs", "20231116-elsewhere", upto=30, status="running")
    source = session.open(str(elsewhere.path)).source
    assert source.state == NOT_READ and session.followed_disk_runs() == [source]
    source.reload()
    assert source.state == RunState.RUNNING and session.followed_disk_runs() == [source]
    elsewhere.write_status("completed")
    source.reload()
    assert session.followed_disk_runs() == []


def test_the_runs_list_skips_a_damaged_folder(tmp_path):
    session = make_session(tmp_path)
    write_fake_run(tmp_path / "runs", "20231114-good")
    damaged = write_fake_run(tmp_path / "runs", "20231115-damaged")
    damaged.metrics_path.unlink()
    damaged.metrics_path.mkdir()  # unreadable: the summary raises
    assert [s.run_id for s in session.list_runs()] == ["20231114-good"]
    assert [d.name for d in session.list_datasets()] == ["movie-snippets-5", "emotions-6"]


# --- sweeps ------------------------------------------------------------------------------------
def test_a_sweep_is_planned_queued_stopped_and_written_once(tmp_path):
    from test_app_sweep import ScoringTrainer, write_sweep

    session = make_session(tmp_path, ScoringTrainer(steps=3))
    assert session.stop_sweep().notice == Notice("No sweep is running", "warning")
    assert session.sweep_target("ce") == Notice("No run of that setting has started yet", "warning")
    sweep = session.plan_sweep(write_sweep(tmp_path, seeds=(1,)))
    start = session.start_sweep(sweep, parallel=2)
    assert start.notice == Notice("Sweep grid: 2 run(s) to train, 0 done before; 2 at a time")
    assert not start.all_done and session.queue.concurrency == 2
    assert session.sweep_blocked().severity == "warning"
    assert session.start_sweep(session.plan_sweep(write_sweep(tmp_path, name="other")), None) is None
    first, second = session.queue.ready_to_start()
    assert session.sweep_target("ce") == first.key
    trained(session, first)
    update = session.run_changed(first.key).sweep
    assert update.read and not update.write  # the other run still trains
    trained(session, second)
    update = session.run_changed(second.key).sweep
    assert update.read and update.write  # the last one writes the tables, once
    assert sweep.write_requested and session.sweep_blocked() is None
    assert session.sweep_target("ce") == str(first.run.path)
    sweep.refresh_results()  # the screen's worker reads them when `update.read`
    view = sweep.view()
    assert [(row.label, row.n, row.states) for row in view.rows] == [("ce", "1", "1 completed"),
                                                                     ("lcl", "1", "1 completed")]
    assert view.progress.startswith("2 runs: 2 completed")


def test_stopping_a_sweep_ends_its_queued_runs_at_once(tmp_path):
    from test_app_sweep import write_sweep

    session = make_session(tmp_path)
    session.start_sweep(session.plan_sweep(write_sweep(tmp_path, seeds=(1, 2))), None)
    training, *waiting = session.queue.runs
    session.queue.ready_to_start()
    stopped = session.stop_sweep()
    assert stopped.notice == Notice("Stopping sweep grid: the training run ends after its current step")
    assert stopped.ended == tuple(waiting) and training.stop.is_set() and training.active


# --- presets -----------------------------------------------------------------------------------
def test_presets_load_and_save(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["lcl_tui.app.session"], "presets_dir", lambda: tmp_path)
    session = make_session(tmp_path)
    bad = session.load_preset(str(tmp_path / "missing.toml"))
    assert isinstance(bad, Notice) and bad.severity == "error" and bad.title == "Preset not loaded"
    config = RunConfig(name="mine").replace(**{"loss.temperature": 0.07})
    saved = session.save_preset(config, str(tmp_path / "mine"))
    assert saved == Notice(f"Saved preset to {tmp_path / 'mine.toml'}")
    assert session.preset_names == ["mine"]  # saved among the presets: the palette lists it
    loaded = session.load_preset(str(tmp_path / "mine.toml"))
    assert loaded == PresetLoaded(loaded.config, "mine") and loaded.config.loss.temperature == 0.07
    blocked = tmp_path / "file"
    blocked.write_text("")
    failed = session.save_preset(config, str(blocked / "x.toml"))
    assert failed.severity == "error" and failed.message.startswith(f"Could not save {blocked / 'x.toml'}")


def test_saved_presets_config_round_trips(tmp_path):
    save_config(RunConfig(name="q"), tmp_path / "q.toml")
    loaded = make_session(tmp_path).load_preset(str(tmp_path / "q.toml"))
    assert isinstance(loaded, PresetLoaded) and loaded.name == "q" and loaded.config.name == "q"


# --- redrawing ---------------------------------------------------------------------------------
def test_the_monitor_redraws_text_on_change_and_charts_at_most_twice_a_second(tmp_path):
    clock = RedrawClock(chart_seconds=0.5)
    live = LiveRun(RunConfig(), tmp_path)
    state = shown_state(live, None)
    assert clock.due(state, now=10.0).charts  # first sight: everything
    assert clock.due(state, now=10.1) is None  # nothing changed
    live.version += 1
    changed = shown_state(live, None)
    assert clock.due(changed, now=10.2).charts is False  # the text now, the charts later
    assert clock.due(changed, now=10.3) is None
    assert clock.due(changed, now=10.5).charts  # the charts catch up
    assert clock.due(changed, now=10.6, force=True).charts  # a key or a new run: now
    assert shown_state(None, None) != changed


def test_slow_charts_are_redrawn_less_often_to_stay_within_their_share_of_a_core(tmp_path):
    clock = RedrawClock(chart_seconds=0.5, chart_share=0.02)
    live = LiveRun(RunConfig(), tmp_path)
    assert clock.due(shown_state(live, None), now=10.0).charts
    clock.chart_cost = 0.04  # 40 ms to build: at most every 2 s
    assert clock.chart_interval() == pytest.approx(2.0)
    live.version += 1
    assert clock.due(shown_state(live, None), now=11.0).charts is False  # the text only
    live.version += 1
    assert clock.due(shown_state(live, None), now=11.9).charts is False
    live.version += 1
    assert clock.due(shown_state(live, None), now=12.0).charts
    clock.chart_cost = 0.001  # fast charts: chart_seconds again
    assert clock.chart_interval() == 0.5
