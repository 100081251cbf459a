"""Data-parallel training: N ranks x B/N examples give the single-process loss and gradients.

The equality tests spawn 2 gloo processes on 127.0.0.1 (a second or two each); both ranks
draw the same global batch from one seed, take their shard, and compare with the single
process computed in the same process on all examples, in float64.
"""

from __future__ import annotations

import copy
import datetime
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_kill import FolderCheck, Training
from torch import nn
from torch.nn import functional as F
from typer.testing import CliRunner

from lcl_tui.cli import app
from lcl_tui.config import LossConfig
from lcl_tui.distributed import SINGLE_PROCESS, DataParallel, shard_batch
from lcl_tui.events import RunStarted, event_from_dict
from lcl_tui.launch import torchrun_command
from lcl_tui.models import ModelOutput
from lcl_tui.objectives import objective_loss
from lcl_tui.predict import Predictor
from lcl_tui.resume import resume_training
from lcl_tui.runstore import RunStore
from lcl_tui.testing import tiny_config, write_tiny_model
from lcl_tui.training import train

WORLD_SIZE = 2
CLASSES = 4
OBJECTIVES = {
    "scl": (LossConfig(objective="scl", alpha=0.5, temperature=0.3), None),
    "lcl-shared": (LossConfig(objective="lcl", alpha=0.5, temperature=0.3), "shared"),
    "lcl-separate": (LossConfig(objective="lcl", alpha=0.5, temperature=0.3), "separate"),
    "ce": (LossConfig(objective="ce"), None),
    "scl-two-stage": (LossConfig(objective="scl-two-stage", temperature=0.3), None),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def class_aware_labels(size: int, seed: int = 0) -> list[int]:
    """Labels laid out as a class-aware batch: runs of up to 4 of one class, classes mixed."""
    rng = random.Random(seed)
    labels: list[int] = []
    while len(labels) < size:
        labels.extend([rng.randrange(CLASSES)] * min(4, size - len(labels)))
    return labels


class TinyClassifier(nn.Module):
    """A stand-in for TextClassifier: a pooled vector, a classifier, LCL's weighting network."""

    def __init__(self, weighting: str | None, inputs: int = 6, hidden: int = 5):
        super().__init__()
        self.backbone = nn.Linear(inputs, hidden)
        self.classifier = nn.Linear(hidden, CLASSES)
        self.weighting_backbone = nn.Linear(inputs, hidden) if weighting == "separate" else None
        self.weighting_head = nn.Linear(hidden, CLASSES) if weighting else None

    def forward(self, batch: dict[str, torch.Tensor], with_weights: bool = True) -> ModelOutput:
        pooled = torch.tanh(self.backbone(batch["x"]))
        weight_logits = None
        if with_weights and self.weighting_head is not None:
            source = torch.tanh(self.weighting_backbone(batch["x"])) if self.weighting_backbone is not None else pooled
            weight_logits = self.weighting_head(source)
        return ModelOutput(logits=self.classifier(pooled), features=F.normalize(pooled, dim=-1),
                           weight_logits=weight_logits)


def check_input_gradients(parallel: DataParallel, config: LossConfig, size: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.tensor(class_aware_labels(size, seed))
    features = F.normalize(torch.randn(size, 8, generator=generator, dtype=torch.float64), dim=-1)
    logits = torch.randn(size, CLASSES, generator=generator, dtype=torch.float64)
    weights = torch.randn(size, CLASSES, generator=generator, dtype=torch.float64)
    inputs = (features, logits, weights) if config.objective == "lcl" else (features, logits)
    everything = [t.clone().requires_grad_() for t in inputs]
    expected, _ = objective_loss(ModelOutput(everything[1], everything[0], *everything[2:]), labels, config)
    expected.backward()

    shard = parallel.shard(list(range(size)), labels.tolist())
    mine = [t[shard.indices].clone().requires_grad_() for t in inputs]
    output, gathered_labels = parallel.gather(ModelOutput(mine[1], mine[0], *mine[2:]), labels[shard.indices],
                                              shard, views=1, stage="train")
    loss, _ = objective_loss(output, gathered_labels, config)
    loss.backward()
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-5)
    for local, full in zip(mine, everything):
        # DDP averages parameter gradients over the ranks: the per-rank input gradient is
        # world_size times the single process's, so that the average equals it exactly.
        assert local.grad is not None
        wanted = full.grad[shard.indices] if full.grad is not None else torch.zeros_like(local)  # ce: no features
        if not shard.counts[parallel.rank]:
            wanted = torch.zeros_like(local)  # a stand-in row is no example: no gradient
        torch.testing.assert_close(local.grad / parallel.world_size, wanted, rtol=0, atol=1e-5)


def check_parameter_gradients(parallel: DataParallel, config: LossConfig, weighting: str | None,
                              size: int, views: int, seed: int, stage: str = "train") -> None:
    """Two steps' gradients (DDP only complains about a parameter it waited for in the next one)."""
    torch.manual_seed(seed)
    single = TinyClassifier(weighting).double()
    model = copy.deepcopy(single)
    wrapped = parallel.wrap(model, stage)
    inputs = torch.randn(size, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    labels = torch.tensor(class_aware_labels(size, seed))
    rows = list(range(size)) * views
    with_weights = config.objective == "lcl"
    shard = parallel.shard(list(range(size)), labels.tolist())
    local_rows = shard.indices * views
    for _ in range(2):
        single.zero_grad(set_to_none=True)
        model.zero_grad(set_to_none=True)
        expected, _ = objective_loss(single({"x": inputs[rows]}, with_weights=with_weights), labels[rows],
                                     config, stage)
        expected.backward()
        output = wrapped({"x": inputs[local_rows]}, with_weights=with_weights)
        output, gathered_labels = parallel.gather(output, labels[local_rows], shard, views, stage)
        loss, _ = objective_loss(output, gathered_labels, config, stage)
        loss.backward()
        torch.testing.assert_close(loss, expected, rtol=0, atol=1e-5)
        for (name, reference), parameter in zip(single.named_parameters(), model.parameters()):
            if reference.grad is None:  # the classifier in the contrastive stage: untouched
                assert parameter.grad is None, name
                continue
            assert parameter.grad is not None, name
            torch.testing.assert_close(parameter.grad, reference.grad, rtol=0, atol=1e-5, msg=name)


def equality_worker(rank: int, port: int, cases: list[tuple[str, int, int]]) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE,
                           timeout=datetime.timedelta(seconds=60))
    parallel = DataParallel(rank, WORLD_SIZE)
    try:
        for name, size, views in cases:
            config, weighting = OBJECTIVES[name]
            if name == "scl-two-stage":
                check_parameter_gradients(parallel, config, weighting, size, views, seed=size, stage="contrastive")
                continue
            check_input_gradients(parallel, config, size, seed=size)
            check_parameter_gradients(parallel, config, weighting, size, views, seed=size)
    finally:
        parallel.close()  # as a run ends: without its wait for gloo, 1 exit in 7 aborted


def test_two_ranks_equal_one_process():
    """2 ranks x 16 = 1 process x 32 for SCL, LCL shared and LCL separate: the loss, the input
    gradients and, through a model in DDP, the parameter gradients, to 1e-5 in float64. Then
    uneven shards (7 = 4 + 3), one example (the other rank runs a stand-in), two dropout
    views, plain CE, and scl-two-stage's contrastive stage (the classifier head left out, its
    gradients None as in one process). Two steps each. One spawn for all: starting the
    processes is most of the time."""
    cases = [("scl", 32, 1), ("lcl-shared", 32, 1), ("lcl-separate", 32, 1),
             ("lcl-separate", 7, 1), ("scl", 1, 1), ("lcl-shared", 5, 2), ("ce", 9, 1),
             ("scl-two-stage", 16, 1)]
    mp.spawn(equality_worker, args=(free_port(), cases), nprocs=WORLD_SIZE, join=True)


# --- sharding, in one process ------------------------------------------------------------------


@pytest.mark.parametrize("world_size", [1, 2, 3, 8])
@pytest.mark.parametrize("size", [1, 2, 5, 16, 31, 32, 64])
def test_shards_cover_the_batch_once_balanced_and_keep_class_chunks(world_size, size):
    labels = class_aware_labels(size, seed=size + world_size)
    indices = list(range(100, 100 + size))
    lookup = [0] * 100 + labels
    shards = shard_batch(indices, lookup, world_size)
    assert len(shards) == world_size
    assert sorted(i for shard in shards for i in shard) == indices
    assert all(shard == sorted(shard) for shard in shards)  # each rank keeps the batch's order
    if size >= world_size:
        assert all(shards)
    share = -(-size // world_size)
    assert max(map(len, shards)) <= share + 4  # a rank holds at most its share and one chunk more
    # A chunk of one class that fits in a share goes whole to one rank.
    runs, start = [], 0
    for end in range(1, size + 1):
        if end == size or labels[end] != labels[start]:
            runs.append(indices[start:end])
            start = end
    for run in runs:
        if len(run) <= share and world_size * share >= size and len(runs) >= world_size:
            owners = {rank for rank, shard in enumerate(shards) for i in run if i in shard}
            assert len(owners) == 1, (run, shards)
    assert shard_batch(indices, lookup, world_size) == shards


def test_a_class_aware_batch_of_32_deals_whole_chunks_of_4_to_two_ranks():
    labels = [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    shards = shard_batch(list(range(32)), labels, 2)
    assert [len(shard) for shard in shards] == [16, 16]
    for shard in shards:
        assert len(shard) % 4 == 0
        for start in range(0, len(shard), 4):
            assert len({labels[i] for i in shard[start:start + 4]}) == 1


def test_single_process_hooks_hand_everything_back():
    output = ModelOutput(logits=torch.zeros(3, 2), features=torch.ones(3, 4))
    labels = torch.tensor([0, 1, 0])
    shard = SINGLE_PROCESS.shard([4, 5, 6], [0, 0, 0, 0, 0, 1, 0])
    assert shard.indices == [4, 5, 6] and shard.counts == [3]
    assert SINGLE_PROCESS.gather(output, labels, shard, 1, "train") == (output, labels)
    model = nn.Linear(2, 2)
    assert SINGLE_PROCESS.wrap(model, "train") is model
    assert SINGLE_PROCESS.world_size == 1 and SINGLE_PROCESS.is_writer


def test_started_events_carry_the_world_size_and_old_ones_read_as_one_process():
    started = RunStarted(run_id="r", label_names=["a"], total_steps=1, device="cpu", train_size=1,
                         validation_size=1, test_size=1, objective="ce", time=0.0, world_size=2)
    assert event_from_dict(started.to_dict()).world_size == 2
    old = started.to_dict()
    del old["world_size"]
    assert event_from_dict(old).world_size == 1


def test_a_single_process_run_uses_no_collective_and_no_wrapper(tiny, monkeypatch):
    import torch.distributed as dist
    import torch.distributed.nn.functional as dist_functional
    from torch.nn.parallel import DistributedDataParallel

    def forbidden(*args, **kwargs):
        raise AssertionError("a single-process run called torch.distributed")

    for module, name in ((dist, "all_reduce"), (dist, "all_gather"), (dist, "init_process_group"),
                         (dist, "barrier"), (dist_functional, "all_gather")):
        monkeypatch.setattr(module, name, forbidden)
    monkeypatch.setattr(DistributedDataParallel, "__init__", forbidden)
    result = train(tiny(train__max_steps=4, train__eval_every_steps=2))
    assert result.status == "completed", result.error
    started = [e for e in result.run.read_events() if isinstance(e, RunStarted)]
    assert [e.world_size for e in started] == [1]


# --- the launcher ------------------------------------------------------------------------------


def test_torchrun_command_runs_lcl_tui_train_in_n_processes():
    command = torchrun_command("quickstart", 3, ["--max-steps", "5"])
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=3" in command and "--standalone" in command
    assert command[command.index("-m", 3):] == ["-m", "lcl_tui", "train", "quickstart", "--max-steps", "5"]
    assert torchrun_command(None, 2, ["--resume", "r1"])[-3:] == ["train", "--resume", "r1"]


def test_python_m_lcl_tui_is_the_cli():
    done = subprocess.run([sys.executable, "-m", "lcl_tui", "train", "--help"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and "--nproc" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["--nproc", "0"], "--nproc must be 1 or more"),
    (["--nproc", "2", "--device", "cuda:1"], "puts every process on one GPU"),
    (["--nproc", "2", "--device", "mps"], "cannot share the one MPS device"),
    pytest.param(["--nproc", "2", "--device", "cuda"], "CUDA is not available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")),
])
def test_bad_nproc_requests_are_one_line_errors(tiny, tmp_path, args, message):
    preset = tmp_path / "tiny.toml"
    preset.write_text(tiny().to_toml(), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(preset), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_bad_collective_timeout_is_one_line(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("LCL_TUI_DIST_TIMEOUT", "soon")
    preset = tmp_path / "tiny.toml"
    preset.write_text(tiny().to_toml(), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(preset), "--nproc", "2"])
    assert result.exit_code == 2 and "LCL_TUI_DIST_TIMEOUT='soon'" in result.output


def test_nproc_under_torchrun_is_refused(tiny, tmp_path, monkeypatch):
    for name, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "2")):
        monkeypatch.setenv(name, value)
    preset = tmp_path / "tiny.toml"
    preset.write_text(tiny().to_toml(), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(preset), "--nproc", "2"])
    assert result.exit_code == 2 and "under torchrun" in result.output


# --- real processes: lcl-tui train --nproc 2 ---------------------------------------------------


def steps_and_evaluations(run) -> tuple[dict[int, float], list[tuple[str, int, float]]]:
    snapshot = run.snapshot()
    return ({step.step: step.loss for step in snapshot.steps},
            [(e.split, e.step, e.accuracy) for e in snapshot.evals])


def worker_pids(launcher: int) -> dict[int, int]:
    """Rank -> pid of the training processes torchrun started in the launcher process."""
    pids = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent != launcher:
                continue
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        variables = dict(item.split("=", 1) for item in environ if "=" in item)
        if "RANK" in variables:
            pids[int(variables["RANK"])] = int(entry.name)
    return pids


def test_two_processes_train_as_one_and_stop_and_resume_together(tmp_path):
    """Without dropout, training is a function of the data order alone: `--nproc 2` gives the
    single process's step losses and evaluations. SIGTERM to the launcher stops both ranks
    after the same step with one checkpoint; `--resume --nproc 2` ends the run as one process
    would have; `lcl-tui predict` reads it. One run folder, started with world_size 2."""
    model = write_tiny_model(tmp_path / "tiny-bert-no-dropout", dropout=0.0)
    overrides = {"model__name": str(model), "model__head_dropout": 0.0, "train__epochs": 3,
                 "train__eval_every_steps": 5}
    reference = train(tiny_config(tmp_path, output__runs_dir=str(tmp_path / "one"), **overrides))
    assert reference.status == "completed", reference.error
    runs_dir = tmp_path / "two"
    preset = tmp_path / "no-dropout.toml"
    preset.write_text(tiny_config(tmp_path, output__runs_dir=str(runs_dir), **overrides).to_toml(), encoding="utf-8")

    first = Training([str(preset), "--nproc", "2"])
    assert first.wait_for(lambda events: any(e["kind"] == "step" and e["step"] >= 3 for e in events))
    first.signal(signal.SIGTERM)
    first.finish(timeout=120)
    run = RunStore(runs_dir).open(first.run_id)
    stopped_at = max(e["step"] for e in first.events if e["kind"] == "step")
    assert run.read_status().status == "stopped", first.stderr_text()
    assert stopped_at < reference.run.snapshot().total_steps
    assert run.last_checkpoint.name == f"step-{stopped_at:07d}"  # both ranks left after this step

    second = Training(["--resume", run.run_id, "--runs-dir", str(runs_dir), "--nproc", "2"])
    assert second.finish(timeout=180) == 0, second.stderr_text()
    assert run.read_status().status == "completed"
    assert [p.name for p in runs_dir.iterdir()] == [run.run_id]
    started = [e for e in run.read_events() if isinstance(e, RunStarted)]
    assert [e.world_size for e in started] == [2, 2]
    assert started[1].resumed_from_step == stopped_at

    losses, evaluations = steps_and_evaluations(run)
    expected_losses, expected_evaluations = steps_and_evaluations(reference.run)
    assert sorted(losses) == sorted(expected_losses)
    worst = max(abs(losses[step] - expected_losses[step]) for step in expected_losses)
    print(f"--nproc 2 against one process: {len(losses)} steps, largest loss difference {worst:.2g}")
    assert worst < 1e-4
    assert [(split, step) for split, step, _ in evaluations] == [(s, n) for s, n, _ in expected_evaluations]
    for (_, _, accuracy), (_, _, expected) in zip(evaluations, expected_evaluations):
        assert abs(accuracy - expected) <= 1 / 48 + 1e-9  # at most one of 48 examples on a near tie
    predicted = CliRunner().invoke(app, ["predict", run.run_id, "i am so glad", "--runs-dir", str(runs_dir)])
    assert predicted.exit_code == 0 and predicted.output.strip()
    check = FolderCheck()
    check.check(runs_dir)
    assert check.problems == [] and check.runs == 1


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks' pids in /proc")
def test_kill_9_of_one_rank_ends_the_run_and_one_process_resumes_it(tiny, tmp_path):
    runs_dir = tmp_path / "runs"
    preset = tmp_path / "kill.toml"
    preset.write_text(tiny(train__epochs=3, train__eval_every_steps=2).to_toml(), encoding="utf-8")
    child = Training([str(preset), "--nproc", "2"])
    assert child.wait_for(lambda events: any(e["kind"] == "checkpoint" for e in events))
    ranks = worker_pids(child.process.pid)
    assert sorted(ranks) == [0, 1]
    os.kill(ranks[1], signal.SIGKILL)
    try:
        code = child.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.process.kill()
        pytest.fail(f"the launcher still ran 60 s after rank 1 was killed; stderr: {child.stderr_text()}")
    assert code != 0
    assert "killed by SIGKILL" in child.stderr_text()
    run = RunStore(runs_dir).open(child.run_id)
    assert run.read_status().status in ("failed", "interrupted")
    # The other rank is gone too (torchrun's agent took it down).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{ranks[0]}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{ranks[0]}").exists() or "Z" in Path(f"/proc/{ranks[0]}/stat").read_text().split()[2]

    resumed = resume_training(run.run_id, runs_dir)  # one process now
    assert resumed.status == "completed", resumed.error
    assert [e.world_size for e in run.read_events() if isinstance(e, RunStarted)] == [2, 1]
    assert Predictor.from_run(run).predict(["i am so glad"], top_k=1)
