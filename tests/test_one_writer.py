"""One writer per run: training and resuming hold an OS lock on the run folder.

Two real processes: a second `train --resume` of a run another process trains is one line
naming that process, exit 2, and the run is written by the first alone. The lock dies with
its process (SIGKILL included), and status reads consult it: a run whose lock is free
reads as interrupted even if its pid now belongs to another process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from lcl_tui.cli import app
from lcl_tui.events import StepEvent
from lcl_tui.run_lock import LOCK_NAME, RunBusyError, WriterState, writer_state
from lcl_tui.runstore import Run
from lcl_tui.training import train

HOLD_THE_LOCK = """
import sys
from lcl_tui.runstore import Run
run = Run(sys.argv[1])
run.acquire_writer()
print("locked", flush=True)
sys.stdin.read()
"""


class Holder:
    """Another process holding a run's writer lock until `release()`."""

    def __init__(self, folder):
        self.process = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(folder)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "locked"

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.communicate("", timeout=30)


@pytest.fixture
def holders():
    started: list[Holder] = []
    yield lambda folder: started.append(Holder(folder)) or started[-1]
    for holder in started:
        holder.release()


@pytest.fixture
def stopped_run(tiny):
    """A run stopped at step 2 of many, with a checkpoint to resume from."""
    stop = threading.Event()
    result = train(tiny(train__epochs=30, train__eval_every_steps=2, loss__objective="ce"), stop=stop,
                   subscribers=[lambda e: isinstance(e, StepEvent) and e.step == 2 and stop.set()])
    assert result.status == "stopped" and result.run.last_checkpoint is not None
    return result.run


def resume_process(run: Run) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lcl_tui.cli", "train", "--resume", run.run_id, "--runs-dir", str(run.path.parent),
         "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kinds(run: Run) -> list[str]:
    return [e.kind for e in run.read_events() if e.kind in ("started", "finished")]


def test_two_resumes_of_one_run_one_trains_and_the_other_is_refused(stopped_run):
    first = resume_process(stopped_run)
    try:
        for line in first.stdout:  # its first step: it holds the lock and trains
            if '"kind": "step"' in line:
                break
        second = subprocess.run(
            [sys.executable, "-m", "lcl_tui.cli", "train", "--resume", stopped_run.run_id,
             "--runs-dir", str(stopped_run.path.parent)], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in second.stderr
        assert lines[0].startswith(f"error: run {stopped_run.run_id} is being written by pid {first.pid} "
                                   f"on {socket.gethostname()} since ")
        assert "wait for it to end or stop it there" in lines[0]
        assert stopped_run.read_status().status == "running"
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0
    # The first resume alone wrote the run: one more start and one more end, nothing else.
    assert kinds(stopped_run) == ["started", "finished", "started", "finished"]
    status = json.loads(stopped_run.status_path.read_text())
    assert status["status"] == "stopped" and status["pid"] == first.pid
    assert not [p for p in stopped_run.checkpoints_dir.iterdir() if p.name.startswith(".tmp-")]
    assert writer_state(stopped_run.path) == WriterState.FREE


def test_a_run_another_process_holds_cannot_be_resumed_or_trained_into(stopped_run, holders):
    holder = holders(stopped_run.path)
    result = CliRunner().invoke(app, ["train", "--resume", stopped_run.run_id, "--runs-dir",
                                      str(stopped_run.path.parent)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: run {stopped_run.run_id} is being written by pid {holder.pid}")
    assert kinds(stopped_run) == ["started", "finished"]  # nothing written before the lock
    assert not any(p.name.startswith(".tmp-") for p in stopped_run.checkpoints_dir.iterdir())
    holder.release()
    with Run(stopped_run.path).writing():  # free again the moment its process ended
        pass


def test_the_lock_dies_with_a_sigkilled_process(stopped_run):
    child = resume_process(stopped_run)
    for line in child.stdout:
        if '"kind": "step"' in line:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert writer_state(stopped_run.path) == WriterState.FREE
    assert stopped_run.read_status().status == "interrupted"
    again = Run(stopped_run.path)
    again.acquire_writer()  # no stale lock to clear by hand
    again.release_writer()


def test_status_reads_consult_the_lock(tmp_path, holders):
    folder = tmp_path / "run"
    folder.mkdir()
    run = Run(folder)
    run.write_status("running")  # this process's pid: alive

    # No lock file (a folder from before locks): the pid decides, and ours is alive.
    assert run.read_status().status == "running"
    # A lock file nobody holds: the writer has ended, whatever the pid now belongs to.
    (folder / LOCK_NAME).write_text("{}")
    assert run.read_status().status == "interrupted"
    # Held by a live process whose pid the status does not even name (a dead one here).
    raw = json.loads(run.status_path.read_text())
    raw["pid"] = 2 ** 22 + 12345
    run.status_path.write_text(json.dumps(raw))
    holder = holders(folder)
    assert run.read_status().status == "running"
    holder.release()
    assert run.read_status().status == "interrupted"


def test_a_new_run_is_locked_before_its_status_says_running(tiny, monkeypatch):
    from lcl_tui.runstore import RunStore

    seen = []
    real_write_status = Run.write_status

    def write_status(self, status, error=None):
        seen.append((status, writer_state(self.path), self.holds_writer))
        real_write_status(self, status, error)

    monkeypatch.setattr(Run, "write_status", write_status)
    run = RunStore(tiny().output.runs_dir).create_run(tiny())
    assert seen == [("running", WriterState.HELD, True)]
    with pytest.raises(RunBusyError):
        Run(run.path).acquire_writer()
    run.release_writer()


async def test_the_app_shows_a_busy_run_as_a_notification(tmp_path, holders):
    from test_app_fakes import build_app, notifications, wait_until, write_fake_run

    runs = tmp_path / "runs"
    stopped = write_fake_run(runs, "20231114-stopped", total=100, upto=40, status="stopped")
    (stopped.last_checkpoint / "training_state.json").write_text("{}")  # resumable
    holder = holders(stopped.path)
    app_ = build_app(tmp_path)  # the real engine.resume
    async with app_.run_test(size=(120, 36)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: app_.main_screen.runs_pane.table.row_count == 1)
        await pilot.press("u")
        await wait_until(pilot, lambda: any(f"is being written by pid {holder.pid}" in m
                                            for m in notifications(app_)), timeout=60)
        assert app_.is_running
    assert json.loads(stopped.status_path.read_text())["status"] == "stopped"


def test_two_writers_in_one_process_are_refused_too(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    first, second = Run(folder), Run(folder)
    first.acquire_writer()
    with pytest.raises(RunBusyError, match=f"pid {os.getpid()}"):
        second.acquire_writer()
    first.release_writer()
    second.acquire_writer()
    assert time.time() - json.loads((folder / LOCK_NAME).read_text())["since"] < 3600
