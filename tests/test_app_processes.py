"""Runs the app trains in child processes (lcl_tui.app.training_process): signals, results,
threads and priority, reproducible parallel runs, and no child left behind when the app ends.

The real children run the tiny random BERT (seconds each); the fake ones are a few lines of
Python standing in for the CLI where a test needs a child that misbehaves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lcl_tui.app import training_process
from lcl_tui.app.app import make_app
from lcl_tui.app.screens.dialogs import ConfirmDialog
from lcl_tui.app.training_process import (
    EventReader,
    StopSignal,
    child_environment,
    threads_per_run,
    train_in_child,
)
from lcl_tui.config import save_config
from lcl_tui.errors import UserError
from lcl_tui.events import RunFinished, RunStarted, StepEvent
from lcl_tui.run_state import RunState
from lcl_tui.runstore import Run

from test_app_fakes import notifications, tiny_app_config, tiny_root, wait_until  # noqa: F401

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals and priorities as on Linux and macOS")


def started_event(run_id: str = "run-x") -> RunStarted:
    return RunStarted(run_id=run_id, label_names=["a", "b"], total_steps=10, device="cpu", train_size=8,
                      validation_size=2, test_size=2, objective="ce", time=0.0)


def gone(pid: int) -> bool:
    """Neither running nor a zombie waiting to be reaped (kill(pid, 0) succeeds on both)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def fake_child(tmp_path: Path, *, ignore_term: bool) -> tuple[str, ...]:
    """A stand-in for `python -m lcl_tui train`: says it started (its run id names its pid),
    then sleeps; it notes a SIGTERM in a file and, if `ignore_term`, goes on sleeping."""
    started = json.dumps(started_event("fake-PID").to_dict())
    script = tmp_path / "fake_child.py"
    script.write_text(
        "import os, signal, sys, time\n"
        f"def noted(signum, frame):\n"
        f"    open({str(tmp_path / 'terms')!r}, 'a').write('term\\n')\n"
        f"    {'return' if ignore_term else 'sys.exit(0)'}\n"
        "signal.signal(signal.SIGTERM, noted)\n"
        f"print({started!r}.replace('PID', str(os.getpid())), flush=True)\n"
        "time.sleep(120)\n")
    return (sys.executable, str(script))


def pid_of(live) -> int:
    return int(live.run.run_id.removeprefix("fake-"))


# --- the parts, without an App -------------------------------------------------------------------
@posix_only
def test_the_stop_signal_terminates_the_child_and_kills_it_when_asked_again(tmp_path):
    stop = StopSignal()
    process = subprocess.Popen(list(fake_child(tmp_path, ignore_term=True)), stdout=subprocess.PIPE, text=True)
    process.stdout.readline()  # its handler is in place
    stop.follow(process)
    stop.set()
    assert wait_for(lambda: (tmp_path / "terms").exists(), 30)  # SIGTERM: the child decides
    assert process.poll() is None and not stop.killed
    stop.kill()
    assert process.wait(timeout=30) == -signal.SIGKILL and stop.killed and stop.is_set()
    stop.release()
    stop.kill()  # after release nothing is signalled (its pid may belong to another process)
    process.stdout.close()


@posix_only
def test_a_stop_asked_before_the_child_started_reaches_it_at_once(tmp_path):
    stop = StopSignal()
    stop.set()
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    stop.follow(process)
    assert process.wait(timeout=30) == -signal.SIGTERM


def test_how_a_child_ended_is_read_from_its_events_exit_code_and_last_words(tmp_path):
    def reader(*events) -> EventReader:
        r = EventReader(tmp_path, [])
        for event in events:
            r.read(json.dumps(event.to_dict()) + "\n")
        return r

    stop = StopSignal()
    finished = RunFinished(status="failed", step=3, elapsed_seconds=1.0, error="loss is NaN at step 3")
    result = reader(started_event(), finished).result(1, "error: run failed: loss is NaN at step 3\n", stop)
    assert (result.status, result.error, result.run.path) == ("failed", "loss is NaN at step 3", tmp_path / "run-x")
    # A mistake the CLI explains: its one line, without "error: ".
    stderr = "Some warning\nerror: data.dataset: no file named gone.csv; check the path\n"
    assert reader().result(2, stderr, stop).error == "data.dataset: no file named gone.csv; check the path"
    traceback = "Traceback (most recent call last):\n  File ...\nRuntimeError: CUDA went away\n"
    assert reader().result(1, traceback, stop).error == "RuntimeError: CUDA went away"
    assert reader().result(1, "", stop).error == "the training process ended with exit code 1"
    # Killed from outside (the kernel's out-of-memory killer, say): it says so.
    assert reader(started_event()).result(-9, "", stop).status == RunState.INTERRUPTED
    assert reader().result(-9, "", stop).error == "the training process was killed (SIGKILL)"
    # Killed because we asked: interrupted once it had a run folder, stopped before.
    stop.kill()
    killed = reader(started_event()).result(-9, "", stop)
    assert (killed.status, killed.error, killed.run.path) == (RunState.INTERRUPTED, None, tmp_path / "run-x")
    assert reader().result(-9, "", stop).status == RunState.STOPPED
    # Lines that are not events (the CLI's closing summary) are skipped.
    noisy = reader()
    noisy.read("run: runs/x\n")
    noisy.read("{torn\n")
    assert noisy.run is None and noisy.finished is None


def test_runs_side_by_side_share_the_cores_and_a_users_thread_count_wins(monkeypatch):
    assert threads_per_run(1, cores=8) is None  # alone: torch's default, every core
    assert threads_per_run(2, cores=8) == 4 and threads_per_run(3, cores=2) == 1
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert "OMP_NUM_THREADS" not in child_environment(None)
    assert child_environment(4)["OMP_NUM_THREADS"] == "4"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert child_environment(4)["OMP_NUM_THREADS"] == "3"


def test_the_training_niceness_is_the_users_to_choose():
    assert training_process.niceness({}) == training_process.NICENESS
    assert training_process.niceness({"LCL_TUI_TRAIN_NICE": "0"}) == 0
    assert training_process.niceness({"LCL_TUI_TRAIN_NICE": " 19 "}) == 19
    for bad in ("20", "-1", "high", "1.5"):
        with pytest.raises(UserError, match="LCL_TUI_TRAIN_NICE"):
            training_process.niceness({"LCL_TUI_TRAIN_NICE": bad})


@posix_only
def test_a_run_trained_at_the_apps_priority_when_asked(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LCL_TUI_TRAIN_NICE", "0")
    config = tiny_app_config(tiny_root, tmp_path, train__epochs=1, train__max_steps=2)
    priorities = []

    def subscriber(event):
        if isinstance(event, RunStarted):
            priorities.append(os.getpriority(os.PRIO_PROCESS, Run(tmp_path / "runs" / event.run_id).read_status().pid))

    from lcl_tui.runstore import RunStore

    train_in_child(config, store=RunStore(tmp_path / "runs"), stop=StopSignal(), subscribers=[subscriber])
    assert priorities == [os.getpriority(os.PRIO_PROCESS, 0)]


@posix_only
def test_a_child_run_streams_every_event_and_trains_below_the_apps_priority(tiny_root, tmp_path):
    config = tiny_app_config(tiny_root, tmp_path, train__epochs=1)
    seen, priorities = [], []

    def subscriber(event):
        seen.append(event)
        if isinstance(event, StepEvent) and not priorities:  # the child is training now
            pid = Run(tmp_path / "runs" / seen[0].run_id).read_status().pid
            priorities.append(os.getpriority(os.PRIO_PROCESS, pid))

    from lcl_tui.runstore import RunStore

    result = train_in_child(config, store=RunStore(tmp_path / "runs"), stop=StopSignal(), subscribers=[subscriber])
    assert result.status == RunState.COMPLETED and result.error is None
    # What the app was told is what the child wrote to its folder, event for event.
    assert [e.to_dict() for e in seen] == [e.to_dict() for e in result.run.read_events()]
    assert isinstance(seen[0], RunStarted) and isinstance(seen[-1], RunFinished)
    assert priorities == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + training_process.NICENESS)]


@posix_only
def test_a_train_whose_reader_goes_away_stops_with_a_checkpoint(tiny_root, tmp_path):
    """The app died (its end of the pipe closed): the child stops as on Ctrl-C, never trains on."""
    save_config(tiny_app_config(tiny_root, tmp_path, train__epochs=500), tmp_path / "long.toml")
    process = subprocess.Popen([sys.executable, "-m", "lcl_tui", "train", str(tmp_path / "long.toml"),
                                "--runs-dir", str(tmp_path / "runs"), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        run_id = json.loads(process.stdout.readline())["run_id"]
        while json.loads(process.stdout.readline())["kind"] != "step":
            pass
        process.stdout.close()
        process.wait(timeout=120)
    finally:
        if process.poll() is None:  # it trained on: this test fails, and leaves nothing running
            process.kill()
            process.wait()
    run = Run(tmp_path / "runs" / run_id)
    assert run.read_status().status == RunState.STOPPED
    assert run.last_checkpoint is not None and run.snapshot().total_steps > len(run.snapshot().steps)


# --- in the app ------------------------------------------------------------------------------------
def step_losses(run: Run) -> list[float]:
    return [s.loss for s in run.snapshot().steps]


@posix_only
async def test_parallel_runs_in_the_app_give_the_numbers_each_gives_alone(tiny_root, tmp_path):
    """Issue 13: runs side by side once shared torch's global generators (dropout, the
    initial heads), so their losses depended on each other. Each child has its own."""
    from lcl_tui.runstore import RunStore

    # The children start up at their own pace: each waits (SIGSTOP) at its first step until
    # the other has reached its own, so that the rest of their steps run side by side.
    both_training = threading.Barrier(2, timeout=120)
    step_seen_at: dict[str, list[float]] = {}  # run id: when the app read each of its steps

    def side_by_side(config, *, store, subscribers, **kwargs):
        started_as: list[str] = []

        def wait_for_the_other(event):
            if isinstance(event, RunStarted):
                started_as.append(event.run_id)
            elif isinstance(event, StepEvent):
                step_seen_at.setdefault(started_as[0], []).append(time.monotonic())
            if isinstance(event, StepEvent) and event.step == 1:
                pid = Run(store.runs_dir / started_as[0]).read_status().pid
                os.kill(pid, signal.SIGSTOP)
                try:
                    both_training.wait()
                finally:
                    os.kill(pid, signal.SIGCONT)

        return train_in_child(config, store=store, subscribers=[*subscribers, wait_for_the_other], **kwargs)

    save_config(tiny_app_config(tiny_root, tmp_path, train__epochs=4), tmp_path / "base.toml")
    sweep = tmp_path / "seeds.toml"
    sweep.write_text('name = "seeds"\nbase = "base.toml"\nseeds = [1, 2]\n')
    app = make_app(config=tiny_app_config(tiny_root, tmp_path), runs_dir=tmp_path / "runs", warm_up=False,
                   concurrency=2, sweep_file=str(sweep), train_fn=side_by_side)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: app.session.sweep.results_paths is not None, timeout=300)
    side_by_side = [live.run for live in app.session.queue.runs]
    assert [run.read_status().status for run in side_by_side] == ["completed", "completed"]
    # They did train at the same time: each took steps before the other's last one. (Times as
    # the app read the steps: a run's logged elapsed time counts from before its model loaded.)
    spans = [(step_seen_at[run.run_id][0], step_seen_at[run.run_id][-1]) for run in side_by_side]
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]
    for run in side_by_side:
        alone = train_in_child(run.load_config(), store=RunStore(tmp_path / "alone"), stop=StopSignal(),
                               subscribers=[])
        assert alone.status == RunState.COMPLETED
        assert step_losses(alone.run) == step_losses(run) and len(step_losses(run)) == run.snapshot().total_steps
    assert step_losses(side_by_side[0]) != step_losses(side_by_side[1])  # two seeds: two runs


@posix_only
async def test_quitting_stops_the_run_with_a_checkpoint_and_leaves_no_child(tiny_root, tmp_path):
    app = make_app(config=tiny_app_config(tiny_root, tmp_path, train__epochs=500), runs_dir=tmp_path / "runs",
                   warm_up=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs and len(app.session.queue.runs[0].view().steps) >= 2,
                         timeout=90)
        live = app.session.queue.runs[0]
        pid = live.run.read_status().pid
        assert pid != os.getpid() and not gone(pid)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        # The app ends once its runs' processes have (it polls for this and exits).
        await wait_until(pilot, lambda: not app.session.queue.training, timeout=60)
    assert gone(pid)  # ended and reaped: no orphan, no zombie
    assert live.state == RunState.STOPPED and live.run.read_status().status == RunState.STOPPED
    assert live.run.last_checkpoint is not None


@posix_only
async def test_an_app_closed_while_a_child_trains_leaves_no_child(tmp_path, monkeypatch, tiny_root):
    monkeypatch.setattr(training_process, "CHILD_COMMAND", fake_child(tmp_path, ignore_term=False))
    app = make_app(config=tiny_app_config(tiny_root, tmp_path), runs_dir=tmp_path / "runs", warm_up=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs and app.session.queue.runs[0].run is not None)
        pid = pid_of(app.session.queue.runs[0])
    # The app ended without asking (its runs get SIGTERM on unmount); its worker reaps the child.
    assert wait_for(lambda: gone(pid), 60)
    assert (tmp_path / "terms").read_text() == "term\n"


@posix_only
async def test_a_second_stop_kills_a_child_that_does_not_stop_and_it_reads_interrupted(
        tmp_path, monkeypatch, tiny_root):
    monkeypatch.setattr(training_process, "CHILD_COMMAND", fake_child(tmp_path, ignore_term=True))
    app = make_app(config=tiny_app_config(tiny_root, tmp_path), runs_dir=tmp_path / "runs", warm_up=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs and app.session.queue.runs[0].state == "running")
        live = app.session.queue.runs[0]
        await pilot.press("x")
        await wait_until(pilot, lambda: (tmp_path / "terms").exists())
        assert live.state == RunState.RUNNING and any("x again" in m for m in notifications(app))
        await pilot.press("x")
        await wait_until(pilot, lambda: live.state == RunState.INTERRUPTED and not live.occupies_slot)
        assert gone(pid_of(live))
        await wait_until(pilot, lambda: any("mid-step" in m and "resume it (u)" in m for m in notifications(app)))
