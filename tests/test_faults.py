"""Faults during training: NaN/inf, out of memory, a full disk, and one run's crash beside
another's. Each ends its own run with a clear status and message, keeps the checkpoints
saved before it, and never touches another run."""

from __future__ import annotations

import math
import threading

import pytest
import torch
from typer.testing import CliRunner

import lcl_tui.checkpointing as checkpointing
import lcl_tui.training_loop as training_loop
from lcl_tui.cli import app
from lcl_tui.events import RunFinished, StepEvent
from lcl_tui.models import TextClassifier, load_checkpoint
from lcl_tui.predict import Predictor
from lcl_tui.runstore import RunStore
from lcl_tui.training import train

runner = CliRunner()


def step_losses(run) -> dict[int, float]:
    return {e.step: e.loss for e in run.read_events() if isinstance(e, StepEvent)}


def assert_checkpoints_sound(run) -> None:
    """Every checkpoint a pointer names loads, has finite weights, and predicts."""
    named = [p for p in (run.best_checkpoint, run.last_checkpoint) if p is not None]
    assert named, "the checkpoints saved before the fault are kept"
    for folder in named:
        model, _, _ = load_checkpoint(folder)
        for name, parameter in model.state_dict().items():
            assert torch.isfinite(parameter).all(), f"{folder.name}: {name} is not finite"
        assert Predictor.from_checkpoint(folder).predict(["so happy"], top_k=1)
    visible = [p for p in run.checkpoints_dir.iterdir() if not p.name.startswith(".")]
    assert all((p / "lcl_tui.json").is_file() for p in visible), visible


def poison_loss_at(monkeypatch, step: int, value: float) -> None:
    """The objective returns `value` (nan, inf) from the `step`-th optimiser step on."""
    real = training_loop.objective_loss
    calls = {"n": 0}

    def poisoned(output, labels, config, stage):
        loss, parts = real(output, labels, config, stage)
        calls["n"] += 1
        if calls["n"] >= step:
            loss = loss * 0 + value
        return loss, parts

    monkeypatch.setattr(training_loop, "objective_loss", poisoned)


# --- NaN and inf ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_the_run_before_it_trains_on_it(tiny, monkeypatch, value):
    poison_loss_at(monkeypatch, step=4, value=value)
    events = []
    result = train(tiny(loss__objective="ce", train__eval_every_steps=1), subscribers=[events.append])
    assert result.status == "failed"
    assert f"the loss became {value} at step 4" in result.error
    assert "lower optim.lr" in result.error and "\n" not in result.error
    # No step with the bad loss was taken: steps 1-3 only, then the failure.
    assert sorted(step_losses(result.run)) == [1, 2, 3]
    assert all(math.isfinite(v) for v in step_losses(result.run).values())
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert len(finished) == 1 and finished[0].status == "failed" and finished[0].error == result.error
    status = result.run.read_status()
    assert status.status == "failed" and status.error == result.error
    assert result.run.last_checkpoint.name == "step-0000003"
    assert_checkpoints_sound(result.run)


def test_a_non_finite_gradient_with_a_finite_loss_never_reaches_a_checkpoint(tiny, monkeypatch):
    """sqrt(x - x) is 0 forward and NaN backward: the loss looks fine, the update is garbage."""
    real = training_loop.objective_loss
    calls = {"n": 0}

    def nan_gradient(output, labels, config, stage):
        loss, parts = real(output, labels, config, stage)
        calls["n"] += 1
        if calls["n"] == 3:
            total = output.logits.sum()
            loss = loss + torch.sqrt(total - total)
        return loss, parts

    monkeypatch.setattr(training_loop, "objective_loss", nan_gradient)
    result = train(tiny(loss__objective="ce", train__eval_every_steps=1, train__epochs=2))
    assert result.status == "failed", "training went on with NaN weights"
    assert "step 3" in result.error or "step 4" in result.error, result.error
    assert_checkpoints_sound(result.run)


def test_the_cli_reports_a_failed_run_in_one_line_with_exit_1(tiny, tmp_path, monkeypatch):
    poison_loss_at(monkeypatch, step=2, value=math.nan)
    preset = tmp_path / "tiny.toml"
    preset.write_text(tiny(loss__objective="ce").to_toml())
    result = runner.invoke(app, ["train", str(preset)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    # The tiny config's lr (3e-3) is past the safe rate for an encoder: named as the cause.
    assert errors == ["error: run failed: the loss became nan at step 2; likely cause optim.lr: lower "
                      "optim.lr (now 0.003; try 0.0001)"]


# --- out of memory ---------------------------------------------------------------------------


def out_of_memory_in(monkeypatch, *, training_mode: bool, after: int = 0) -> None:
    real = TextClassifier.forward
    calls = {"n": 0}

    def forward(self, batch, with_weights=True):
        if self.training == training_mode:
            calls["n"] += 1
            if calls["n"] > after:
                buckets = [batch] if isinstance(batch, dict) else batch  # a batch as length buckets
                rows = sum(bucket["input_ids"].shape[0] for bucket in buckets)
                raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB ({rows} rows)")
        return real(self, batch, with_weights)

    monkeypatch.setattr(TextClassifier, "forward", forward)


@pytest.mark.parametrize(("views", "expected"), [("none", 16), ("dropout", 32)])
def test_out_of_memory_names_the_batch_size_that_caused_it(tiny, monkeypatch, views, expected):
    out_of_memory_in(monkeypatch, training_mode=True, after=2)
    result = train(tiny(loss__objective="scl", train__views=views, train__eval_every_steps=1))
    assert result.status == "failed"
    assert f"out of memory at batch size {expected}" in result.error, result.error
    assert "lower train.batch_size" in result.error and "train.grad_accumulation" in result.error
    assert "\n" not in result.error
    assert result.run.read_status().status == "failed"
    assert_checkpoints_sound(result.run)  # the two steps before it were checkpointed


def test_out_of_memory_while_evaluating_names_the_eval_batch_size(tiny, monkeypatch):
    out_of_memory_in(monkeypatch, training_mode=False)
    result = train(tiny(loss__objective="ce", train__eval_batch_size=48, train__max_steps=2))
    assert result.status == "failed"
    assert "48" in result.error and "train.eval_batch_size" in result.error, result.error


# --- a full disk --------------------------------------------------------------------------


def test_a_full_disk_while_saving_keeps_the_last_good_checkpoint(tiny, monkeypatch):
    real = checkpointing.save_checkpoint
    calls = {"n": 0}

    def save(model, tokenizer, folder, meta):
        calls["n"] += 1
        if calls["n"] == 3:
            (folder / "model.safetensors").parent.mkdir(parents=True, exist_ok=True)
            (folder / "model.safetensors").write_bytes(b"half")
            raise OSError(28, "No space left on device")
        return real(model, tokenizer, folder, meta)

    monkeypatch.setattr(checkpointing, "save_checkpoint", save)
    result = train(tiny(loss__objective="ce", train__eval_every_steps=1))
    assert result.status == "failed"
    assert "No space left on device" in result.error
    assert result.run.read_status().status == "failed"
    assert result.run.last_checkpoint.name == "step-0000002"
    assert_checkpoints_sound(result.run)
    assert not [p for p in result.run.checkpoints_dir.iterdir() if p.name.startswith(".tmp")]


# --- one run's fault beside another run -----------------------------------------------------


def test_a_crash_in_one_run_does_not_disturb_a_run_beside_it(tiny, monkeypatch):
    real = training_loop.objective_loss

    def crash_in_thread_a(output, labels, config, stage):
        if threading.current_thread().name == "run-a" and config.objective == "ce":
            raise RuntimeError("boom in run A")
        return real(output, labels, config, stage)

    monkeypatch.setattr(training_loop, "objective_loss", crash_in_thread_a)
    configs = {
        "run-a": tiny(loss__objective="ce", output__run_name="run-a"),
        "run-b": tiny(loss__objective="scl", output__run_name="run-b", train__eval_every_steps=3),
        # A mistake found before training (a bad data column), in a third thread.
        "run-c": tiny(loss__objective="ce", output__run_name="run-c", data__text_column="nope"),
    }
    results, raised = {}, {}
    started = threading.Barrier(len(configs))

    def work(name):
        started.wait()
        try:
            results[name] = train(configs[name])
        except Exception as error:  # noqa: BLE001 - what a thread worker would see
            raised[name] = error

    threads = [threading.Thread(target=work, args=(name,), name=name) for name in configs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert results["run-a"].status == "failed" and "RuntimeError: boom in run A" in results["run-a"].error
    assert type(raised["run-c"]).__name__ == "DataError" and "data.text_column" in str(raised["run-c"])
    b = results["run-b"]
    assert b.status == "completed", b.error
    assert b.test is not None and b.test.accuracy > 0.25
    assert b.run.read_status().status == "completed"
    steps = sorted(step_losses(b.run))
    assert steps == list(range(1, len(steps) + 1))
    assert Predictor.from_run(b.run).predict(["so angry"], top_k=1)
    store = RunStore(b.run.path.parent)
    assert {r.run_id: r.read_status().status for r in store.runs()} == {"run-a": "failed", "run-b": "completed"}
