"""Stop, kill -9 and resume: nothing finished is ever lost, and every run folder reads.

* Stop takes effect within one step and leaves a stopped run with its best checkpoint.
* After SIGKILL at any moment the run reads as interrupted, every checkpoint that
  best.json/last.json names loads and predicts, and no half-written file is visible.
* `--resume` continues from the last checkpoint, with the losses of an uninterrupted run.

The soak test kills `lcl-tui train` at random moments: 3 times by default, 20 with
`pytest --soak`. It prints its counts; `LCL_SOAK_SEED=N` replays one schedule.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lcl_tui.events import RunFinished, StepEvent
from lcl_tui.predict import Predictor
from lcl_tui.resume import resume_training
from lcl_tui.run_state import STORED
from lcl_tui.runstore import Run, RunStore
from lcl_tui.training import train


# --- reading a run folder the way the app and the CLI do -------------------------------------


@dataclass
class FolderCheck:
    runs: int = 0
    checkpoints_loaded: int = 0
    hidden_temporaries: int = 0
    folders_without_config: int = 0
    problems: list[str] = field(default_factory=list)
    _loaded: set = field(default_factory=set)

    def check(self, runs_dir: Path) -> None:
        """Every run folder reads; every checkpoint a pointer names loads and predicts."""
        self.runs = self.hidden_temporaries = self.folders_without_config = 0
        store = RunStore(runs_dir)
        runs = store.runs()
        self.folders_without_config = sum(
            1 for p in runs_dir.iterdir() if p.is_dir() and not (p / "config.toml").is_file()
        ) if runs_dir.is_dir() else 0
        for run in runs:
            self.runs += 1
            self.check_run(run)

    def problem(self, run: Run, text: str) -> None:
        self.problems.append(f"{run.run_id}: {text}")

    def check_run(self, run: Run) -> None:
        summary = run.summary()  # what `lcl-tui runs` and the app's list show
        status = run.read_status()
        if status.status not in STORED or summary.status != status.status:
            self.problem(run, f"status {status.status!r}")
        if status.status == "running":
            self.problem(run, "reads as running after its process died")
        run.load_config()
        run.snapshot()
        lines = run.metrics_path.read_text(encoding="utf-8").splitlines() if run.metrics_path.exists() else []
        for number, line in enumerate(lines[:-1], start=1):  # only the last line may be torn
            try:
                json.loads(line)
            except ValueError:
                self.problem(run, f"metrics.jsonl line {number} is torn")
        if run.split_path.exists():
            run.load_split()
        elif run.checkpoints_dir.exists() and any(run.checkpoints_dir.iterdir()):
            self.problem(run, "checkpoints but no split.json")
        for path in run.path.rglob("*"):
            if path.name.endswith(".tmp") and not path.name.startswith("."):
                self.problem(run, f"visible temporary file {path.relative_to(run.path)}")
        if run.checkpoints_dir.is_dir():
            for folder in run.checkpoints_dir.iterdir():
                if folder.name.startswith("."):
                    self.hidden_temporaries += 1
                elif not (folder / "lcl_tui.json").is_file():
                    self.problem(run, f"visible incomplete checkpoint {folder.name}")
        for pointer in ("best", "last"):
            path = run.path / f"{pointer}.json"
            if not path.exists():
                continue
            folder = run.best_checkpoint if pointer == "best" else run.last_checkpoint
            if folder is None:
                self.problem(run, f"{pointer}.json names a checkpoint that is missing or incomplete")
                continue
            key = (str(folder), (folder / "lcl_tui.json").stat().st_mtime_ns)
            if key in self._loaded:
                continue
            try:
                ranked = Predictor.from_checkpoint(folder).predict(["so happy", "so angry"], top_k=2)
                assert len(ranked) == 2 and all(len(r) == 2 for r in ranked)
            except Exception as error:  # noqa: BLE001 - every failure is a lost file
                self.problem(run, f"{pointer} checkpoint {folder.name} does not load: {error!r}")
                continue
            self._loaded.add(key)
            self.checkpoints_loaded += 1
        if status.status == "completed" and run.best_checkpoint is None:
            self.problem(run, "completed without a best checkpoint")


# --- a training process to kill ---------------------------------------------------------------


def soak_preset(tiny, tmp_path: Path, **overrides) -> Path:
    # Evaluate and checkpoint every step, so that kills land in checkpoint writes often.
    config = tiny(**{"loss__objective": "lcl", "train__epochs": 3, "train__eval_every_steps": 1, **overrides})
    path = tmp_path / "soak.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    return path


class Training:
    """`lcl-tui train --json` in a child process; its events are counted as they come."""

    def __init__(self, argv: list[str]):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        # stderr to a file: an unread pipe could fill up and stall the child.
        self.stderr_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "lcl_tui.cli", "train", *argv, "--json"],
                                        stdout=subprocess.PIPE, stderr=self.stderr_file, text=True, env=env)
        self.events: list[dict] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("{"):
                with self.changed:
                    self.events.append(json.loads(line))
                    self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.events):
                if self.process.poll() is not None and not self.reader.is_alive():
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no such event in {timeout}s; stderr: {self.stderr_text()}")
                self.changed.wait(min(remaining, 0.5))
        return True

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def finish(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def stderr_text(self) -> str:
        self.stderr_file.seek(0)
        return self.stderr_file.read()[-4000:]

    @property
    def run_id(self) -> str | None:
        started = [e for e in self.events if e["kind"] == "started"]
        return started[0]["run_id"] if started else None


def step_losses(run: Run) -> dict[int, float]:
    """The loss at each step as the run's own reader folds it (resumed steps replace lost ones)."""
    return {s.step: s.loss for s in run.snapshot().steps}


# --- stop ------------------------------------------------------------------------------------


def test_stop_takes_effect_within_one_step_and_keeps_the_best_checkpoint(tiny):
    stop = threading.Event()
    seen = []

    def stop_at_five(event):
        seen.append(event)
        if isinstance(event, StepEvent) and event.step == 5:
            stop.set()

    result = train(tiny(train__epochs=20, train__eval_every_steps=2), stop=stop, subscribers=[stop_at_five])
    assert result.status == "stopped" and result.error is None
    assert max(e.step for e in seen if isinstance(e, StepEvent)) == 5
    assert isinstance(seen[-1], RunFinished) and seen[-1].status == "stopped"
    run = result.run
    assert run.read_status().status == "stopped"
    assert run.best_checkpoint is not None and run.best_checkpoint.name in ("step-0000002", "step-0000004")
    assert run.last_checkpoint.name == "step-0000005"  # kept for --resume
    check = FolderCheck()
    check.check(run.path.parent)
    assert check.problems == [] and check.checkpoints_loaded == 2
    assert Predictor.from_run(run).predict(["i am so glad"], top_k=1)


def test_signals_stop_the_cli_after_the_step_and_lose_nothing(tiny, tmp_path, request):
    """Ctrl-C (and SIGTERM, also in test_cli) stop after the current step with a checkpoint to
    resume from; SIGHUP (the SSH session went away) ends the process and loses nothing either."""
    preset = soak_preset(tiny, tmp_path, train__epochs=20)
    runs_dir = tmp_path / "runs"
    signals = [signal.SIGINT, signal.SIGHUP] + ([signal.SIGTERM] if request.config.getoption("--soak") else [])
    children = {signum: Training([str(preset)]) for signum in signals}
    for signum, child in children.items():
        assert child.wait_for(lambda events: any(e["kind"] == "checkpoint" and e["step"] >= 3 for e in events))
        child.signal(signum)
    for signum, child in children.items():
        code = child.finish(timeout=120)
        run = RunStore(runs_dir).open(child.run_id)
        last_step = max(e["step"] for e in child.events if e["kind"] == "step")
        if signum == signal.SIGHUP:
            assert run.read_status().status in ("stopped", "interrupted")
            assert run.last_checkpoint is not None
            continue
        assert code == 0, child.stderr_text()
        assert run.read_status().status == "stopped"
        assert run.last_checkpoint.name == f"step-{last_step:07d}"  # the step it stopped after
    check = FolderCheck()
    check.check(runs_dir)
    assert check.problems == [] and check.runs == len(signals) and check.checkpoints_loaded >= len(signals)


# --- resume ----------------------------------------------------------------------------------


def uninterrupted_losses(tiny, **overrides) -> dict[int, float]:
    result = train(tiny(**overrides))
    assert result.status == "completed", result.error
    return step_losses(result.run)


def assert_same_losses(resumed: dict[int, float], reference: dict[int, float], tolerance: float) -> None:
    assert sorted(resumed) == sorted(reference)
    worst = max(abs(resumed[s] - reference[s]) for s in reference)
    print(f"resume: {len(reference)} steps, largest loss difference to the uninterrupted run {worst:.3g}")
    assert worst <= tolerance, f"largest loss difference {worst:.3g} after resume"


@pytest.mark.parametrize("objective", ["lcl", "scl"])
def test_resume_after_stop_replays_the_uninterrupted_losses(tiny, objective):
    overrides = dict(loss__objective=objective, train__epochs=3, train__eval_every_steps=4)
    reference = uninterrupted_losses(tiny, **overrides)
    stop = threading.Event()
    stopped = train(tiny(**overrides), stop=stop,
                    subscribers=[lambda e: isinstance(e, StepEvent) and e.step == 11 and stop.set()])
    assert stopped.status == "stopped"
    assert stopped.run.last_checkpoint.name == "step-0000011"
    seen = []
    resumed = resume_training(stopped.run.run_id, stopped.run.path.parent, subscribers=[seen.append])
    assert resumed.status == "completed", resumed.error
    first = [e for e in seen if isinstance(e, StepEvent)][0]
    assert first.step == 12  # continues from the checkpoint's step, not from the start
    assert_same_losses(step_losses(resumed.run), reference, tolerance=1e-5)
    assert resumed.run.read_status().status == "completed"


def test_resume_after_sigkill_continues_from_the_last_checkpoint(tiny, tmp_path):
    preset = soak_preset(tiny, tmp_path)
    overrides = dict(loss__objective="lcl", train__epochs=3, train__eval_every_steps=1)
    child = Training([str(preset)])
    assert child.wait_for(lambda events: any(e["kind"] == "step" and e["step"] >= 13 for e in events))
    child.signal(signal.SIGKILL)
    child.finish()
    run = RunStore(tmp_path / "runs").open(child.run_id)
    assert run.read_status().status == "interrupted"
    check = FolderCheck()
    check.check(tmp_path / "runs")
    assert check.problems == []
    last = run.last_checkpoint
    saved_step = int(last.name.split("-")[1])
    assert 12 <= saved_step <= max(e["step"] for e in child.events if e["kind"] == "step")

    seen = []
    resumed = resume_training(child.run_id, tmp_path / "runs", subscribers=[seen.append])
    assert resumed.status == "completed", resumed.error
    assert [e for e in seen if isinstance(e, StepEvent)][0].step == saved_step + 1
    # Against the same run uninterrupted (in this process: the same kernels, one thread).
    reference = uninterrupted_losses(tiny, **overrides)
    assert_same_losses(step_losses(resumed.run), reference, tolerance=1e-4)


# --- the soak: kill -9 at random moments -------------------------------------------------------


@dataclass
class SoakCounts:
    kills: int = 0
    survived: int = 0
    resumed_starts: int = 0
    finished_before_kill: int = 0
    files_lost: int = 0
    checkpoints_loaded: int = 0
    moments: list[str] = field(default_factory=list)


def test_kill_9_soak(tiny, tmp_path, request):
    kills = 20 if request.config.getoption("--soak") else 3
    seed = int(os.environ.get("LCL_SOAK_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    preset = soak_preset(tiny, tmp_path)
    runs_dir = tmp_path / "runs"
    counts = SoakCounts()
    check = FolderCheck()
    print(f"\nsoak: seed {seed} (LCL_SOAK_SEED={seed} replays it), {kills} kills")

    while counts.kills < kills:
        resumable = [r for r in RunStore(runs_dir).runs()
                     if r.read_status().status == "interrupted" and r.last_checkpoint is not None]
        if resumable and rng.random() < 0.4:
            target = rng.choice(resumable)
            child = Training(["--resume", target.run_id, "--runs-dir", str(runs_dir)])
            counts.resumed_starts += 1
            label = f"resume {target.run_id}"
        else:
            child = Training([str(preset)])
            label = "new run"
        if rng.random() < 0.25:
            # Anywhere from process start: imports, data, model load, run folder creation.
            delay = rng.uniform(0.0, 5.0)
            alive = not _exited_within(child, delay)
            moment = f"{delay:.2f}s after start"
        else:
            # Just after the k-th event, while the next step, evaluation or checkpoint is written.
            k = rng.randint(1, 60)
            alive = child.wait_for(lambda events, k=k: len(events) >= k)
            delay = rng.uniform(0.0, 0.25)
            if alive:
                alive = not _exited_within(child, delay)
            moment = f"{delay:.2f}s after event {k}"
        if not alive or child.process.poll() is not None:
            child.finish()
            counts.finished_before_kill += 1
            continue
        child.signal(signal.SIGKILL)
        child.finish()
        counts.kills += 1
        counts.moments.append(f"{label}: {moment} ({len(child.events)} events seen)")
        before = len(check.problems)
        check.check(runs_dir)
        lost = check.problems[before:]
        counts.files_lost += len(lost)
        if child.run_id is not None:
            killed = RunStore(runs_dir).open(child.run_id)
            status = killed.read_status().status
            finished = killed.snapshot().finished
            # A kill that lands after the run wrote its end (while the process exits) finds it done.
            done = finished is not None and finished.status == status
            if status != "interrupted" and not done:
                lost.append(f"{child.run_id}: killed but reads {status}")
                counts.files_lost += 1
        if not lost:
            counts.survived += 1
        else:
            print(f"soak: kill {counts.kills} ({counts.moments[-1]}): " + "; ".join(lost))

    # The end: the newest interrupted run with a checkpoint resumes to completion here.
    resumable = [r for r in RunStore(runs_dir).runs()
                 if r.read_status().status == "interrupted" and r.last_checkpoint is not None]
    if resumable:
        final = resume_training(resumable[-1].run_id, runs_dir)
        assert final.status == "completed", final.error
        assert final.test is not None and not math.isnan(final.test.accuracy)
    check.check(runs_dir)
    counts.checkpoints_loaded = check.checkpoints_loaded
    print(f"soak: {counts.kills} kills, {counts.survived} survived, {counts.files_lost} files lost; "
          f"{counts.resumed_starts} kills hit a resumed run, {counts.finished_before_kill} runs ended before "
          f"their kill; {check.runs} run folders read, {counts.checkpoints_loaded} distinct checkpoints "
          f"loaded and predicted, {check.hidden_temporaries} hidden temporaries, "
          f"{check.folders_without_config} folders without a config")
    for moment in counts.moments:
        print(f"  killed: {moment}")
    request.node.user_properties.append(("soak", counts.__dict__))
    assert check.problems == [], check.problems
    assert counts.survived == counts.kills == kills


def _exited_within(child: Training, seconds: float) -> bool:
    try:
        child.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


# --- a run folder damaged by hand or by the disk still reads -------------------------------------

DAMAGE = {
    "status-empty": ("status.json", b""),
    "status-not-an-object": ("status.json", b"[]"),
    "status-bad-types": ("status.json", b'{"status": "running", "pid": "x", "host": 3}'),
    "status-unknown": ("status.json", b'{"status": "exploded"}'),
    "metrics-torn-tail": ("metrics.jsonl", None),
    "metrics-nul-tail": ("metrics.jsonl", b"\x00" * 512),
    "metrics-garbage-lines": ("metrics.jsonl", b'5\n[1, 2]\n{"kind": "eval"}\n{"kind": "step", "step": "x"}\n'),
    "config-garbage": ("config.toml", b"\xff\xfe not toml ["),
    "config-missing-file": ("config.toml", None),
    "split-missing": ("split.json", None),
    "split-garbage": ("split.json", b"{"),
    "best-garbage": ("best.json", b"not json"),
    "last-missing-folder": ("last.json", b'{"checkpoint": "step-9999999"}'),
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model_dir):
    from lcl_tui.testing import tiny_config

    root = tmp_path_factory.mktemp("finished")
    result = train(tiny_config(root, model__name=str(tiny_model_dir), train__max_steps=3,
                               train__eval_every_steps=1, loss__objective="ce"))
    assert result.status == "completed"
    return result.run


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_run_folder_still_reads(finished_run, tmp_path, damage):
    import shutil

    from typer.testing import CliRunner

    from lcl_tui.cli import app
    from lcl_tui.errors import UserError

    runs_dir = tmp_path / "runs"
    shutil.copytree(finished_run.path, runs_dir / finished_run.run_id)
    run = Run(runs_dir / finished_run.run_id)
    name, content = DAMAGE[damage]
    path = run.path / name
    if damage == "metrics-torn-tail":
        path.write_bytes(path.read_bytes() + b'{"kind": "step", "step": 4, "lo')
    elif damage.startswith("metrics"):
        path.write_bytes(path.read_bytes() + content)
    elif content is None:
        path.unlink()
    else:
        path.write_bytes(content)

    listed = RunStore(runs_dir).runs()
    if damage == "config-missing-file":
        assert listed == []  # not a run folder any more: skipped, not an error
        return
    assert [r.run_id for r in listed] == [run.run_id]
    summary = run.summary()
    assert summary.status in STORED and run.read_status().status in STORED
    run.snapshot()
    for reader in (run.load_config, run.load_split, lambda: Predictor.from_run(run)):
        try:
            reader()
        except UserError as error:
            assert "\n" not in str(error)
    result = CliRunner().invoke(app, ["runs", "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    if damage.startswith("metrics"):
        assert [s.step for s in run.snapshot().steps] == [1, 2, 3]


def test_a_kill_while_pruning_leaves_no_visible_half_checkpoint(finished_run, tmp_path, monkeypatch):
    import shutil

    runs_dir = tmp_path / "runs"
    shutil.copytree(finished_run.path, runs_dir / finished_run.run_id)
    run = Run(runs_dir / finished_run.run_id)
    # Which steps the pointers name depends on the run's numbers; take a step neither names.
    kept = {run.best_checkpoint.name, run.last_checkpoint.name}
    old = next(run.checkpoint_dir(step) for step in range(1, 10) if run.checkpoint_dir(step).name not in kept)
    assert not old.exists()
    shutil.copytree(run.best_checkpoint, old)  # an old checkpoint that no pointer names

    real_rmtree = shutil.rmtree

    def killed_mid_delete(path, ignore_errors=False):
        files = sorted(Path(path).iterdir())
        files[0].unlink()  # one file gone, then the process dies
        raise SystemExit("killed")

    monkeypatch.setattr(shutil, "rmtree", killed_mid_delete)
    with pytest.raises(SystemExit):
        run.prune_checkpoints()
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    complete = sorted(p.name for p in run.best_checkpoint.iterdir())
    visible = [p for p in run.checkpoints_dir.iterdir() if not p.name.startswith(".")]
    assert all(sorted(f.name for f in p.iterdir()) == complete for p in visible), visible
    run.prune_checkpoints()  # the next prune clears what the kill left
    assert sorted(p.name for p in run.checkpoints_dir.iterdir()) == sorted(
        {run.best_checkpoint.name, run.last_checkpoint.name})
