"""Resources checked before they are spent: integers that fit where they go, devices this
machine has, batches and step budgets that fit the data, and memory for the batch; and a
non-finite loss that names the key behind it."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import tomllib
import torch
from typer.testing import CliRunner

import lcl_tui.resources as resources
import lcl_tui.training_loop as training_loop
from lcl_tui.cli import app
from lcl_tui.config import RunConfig, apply_overrides
from lcl_tui.diagnosis import non_finite_message, suspects
from lcl_tui.errors import ConfigError, UserError
from lcl_tui.resources import ModelShape, check_device, training_bytes
from lcl_tui.training import train

runner = CliRunner()


def one_line_error(argv: list[str]) -> str:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    return lines[0]


# --- integers, devices, ranges (the config, before anything loads) ----------------------------------


@pytest.mark.parametrize("argv, line", [
    (["--seed", "99999999999999999999"],
     "error: train.seed must be a whole number that fits in 64 bits (got 99999999999999999999)"),
    (["--seed", "-1"], "error: train.seed must be in [0, 2**63-1] (torch's seeds, in TOML's range) (got -1)"),
    (["--device", "cuda:abc"], "error: train.device must be auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps "
                               "(got 'cuda:abc')"),
    (["--device", "cuda:-1"], "error: train.device must be auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps "
                              "(got 'cuda:-1')"),
    (["--device", "cpu:abc"], "error: train.device must be auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps "
                              "(got 'cpu:abc')"),
    (["--max-steps", "99999999999999999999999"],
     "error: train.max_steps must be a whole number that fits in 64 bits (got 99999999999999999999999)"),
    (["--max-steps", "100000000"], "error: train.max_steps must be in [1, 10,000,000] or unset (got 100000000)"),
    (["--set", "train.batch_size=99999999999999999999"],
     "error: train.batch_size must be a whole number that fits in 64 bits (got 99999999999999999999)"),
    (["--set", "loss.temperature=1e-30"],
     "error: loss.temperature must be in [0.01, 1000], where the losses are proven finite (got 1e-30)"),
    (["--set", "train.epochs=100000"], "error: train.epochs must be in [1, 1000] (got 100000)"),
    (["--set", "optim.weight_decay=1000"],
     "error: optim.weight_decay x optim.head_lr must be < 1, or AdamW flips the weights' signs every step "
     "(got 1000 x 0.002); lower one of them"),
])
def test_the_issues_probes_are_one_line_before_anything_loads(argv, line, tmp_path):
    assert one_line_error(["train", "quickstart", "--runs-dir", str(tmp_path / "runs"), *argv]) == line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("temperature", [0.01, 0.3, 1000])
def test_the_temperature_range_is_the_one_the_losses_are_proven_finite_over(temperature):
    """tests/test_losses.py::test_finite_everywhere draws log10(tau) from [-2, 3]."""
    assert apply_overrides(RunConfig(), {"loss.temperature": temperature}).loss.temperature == temperature
    for outside in (0.0099, 1000.1):
        with pytest.raises(ConfigError, match="loss.temperature must be in"):
            apply_overrides(RunConfig(), {"loss.temperature": outside})


def test_the_largest_seed_trains_and_round_trips_through_toml(tiny):
    config = tiny(train__seed=2**63 - 1, train__max_steps=1, loss__objective="ce")
    assert tomllib.loads(config.to_toml())["train"]["seed"] == 2**63 - 1
    assert train(config).status == "completed"


def test_a_cuda_index_this_machine_lacks_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_device("cuda:1")
    check_device("cuda")
    with pytest.raises(UserError) as caught:
        check_device("cuda:2")
    assert str(caught.value) == ("train.device=cuda:2 but this machine has 2 CUDA device(s) (cuda:0, cuda:1); "
                                 "set train.device to one of them")


# --- the batch, the steps and memory against the data and the model --------------------------------


def test_a_batch_larger_than_the_training_set_is_clamped_with_a_warning(tiny, caplog):
    caplog.set_level(logging.WARNING, logger="lcl_tui.resources")
    result = train(tiny(train__batch_size=10**12, train__epochs=2, loss__objective="ce"))
    assert result.status == "completed", result.error
    train_size = next(e for e in result.run.read_events() if e.kind == "started").train_size
    assert f"train.batch_size=1000000000000 is more than the {train_size} training examples" in caplog.text
    saved = result.run.load_config()
    assert saved.train.batch_size == train_size  # what it trained with, for --resume
    assert result.run.snapshot().total_steps == 2  # one batch per epoch


def test_max_steps_far_beyond_the_data_is_refused_before_a_run_folder(tiny):
    config = tiny(train__max_steps=9_000_000, loss__objective="ce")
    with pytest.raises(ConfigError) as caught:
        train(config)
    message = str(caught.value)
    assert message.startswith("train.max_steps=9000000 is more than 1000 epochs of this data (")
    assert "set train.max_steps <= " in message
    assert not Path(config.output.runs_dir).exists()


def test_a_batch_that_cannot_fit_in_memory_is_refused_naming_the_key(tiny, monkeypatch):
    # The tiny BERT (hidden 32, 2 layers) takes about 5 KiB a token: 144 examples x 16 tokens, 11 MiB.
    monkeypatch.setattr(resources, "available_bytes", lambda device: 8 * 2**20)
    config = tiny(train__batch_size=4096, loss__objective="ce")
    with pytest.raises(ConfigError) as caught:
        train(config)
    message = str(caught.value)
    assert message.startswith("train.batch_size=")  # clamped to the data first, then too big
    assert "more than the 7.2 MiB available on cpu; set train.batch_size <= " in message
    assert not Path(config.output.runs_dir).exists()
    fits = int(message.split("set train.batch_size <= ")[1].split()[0])
    assert train(tiny(train__batch_size=fits, train__max_steps=1, loss__objective="ce")).status == "completed"


def test_an_eval_batch_that_cannot_fit_is_refused_naming_its_key(tiny, monkeypatch):
    shape = ModelShape(units_per_token=64, eval_units_per_token=10_000, trainable_parameters=1000)
    budget = training_bytes(shape, 16 * 16) * 2
    monkeypatch.setattr(resources, "available_bytes", lambda device: budget)
    monkeypatch.setattr(ModelShape, "of", classmethod(lambda cls, model: shape))
    with pytest.raises(ConfigError, match=r"^train.eval_batch_size=100000 needs about .* set "
                                          r"train.eval_batch_size <= \d+$"):
        train(tiny(train__batch_size=16, train__eval_batch_size=100000, loss__objective="ce"))


def test_the_estimate_counts_views_and_a_second_encoder(tiny_model_dir):
    from lcl_tui.config import ModelConfig
    from lcl_tui.models import build_model, load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir))
    shared = ModelShape.of(build_model(ModelConfig(name=str(tiny_model_dir)), 4, "lcl", tokenizer, list("abcd")))
    separate = ModelShape.of(build_model(ModelConfig(name=str(tiny_model_dir), weighting="separate"), 4, "lcl",
                                         tokenizer, list("abcd")))
    assert shared.units_per_token == 32 * 2  # hidden 32 x 2 layers
    assert separate.units_per_token == 2 * shared.units_per_token and separate.encoders == 2
    per_token = training_bytes(shared, 1) - training_bytes(shared, 0)
    assert per_token == 20 * 64 * 4


# --- a non-finite loss names the likely key ------------------------------------------------------------


def test_suspects_follow_the_config():
    base = RunConfig()
    assert [s.key for s in suspects(base)] == []
    cold = base.replace(**{"loss.temperature": 0.01})
    assert suspects(cold)[0].key == "loss.temperature"
    hot = base.replace(**{"optim.lr": 0.5})
    assert suspects(hot)[0].key == "optim.lr"
    half = base.replace(**{"train.mixed_precision": "fp16"})
    assert suspects(half)[0].key == "train.mixed_precision"
    assert suspects(base, amp_dtype=torch.float16)[0].key == "train.mixed_precision"
    both = base.replace(**{"loss.temperature": 0.01, "optim.lr": 2e-3})  # 5x past vs 2x past
    assert [s.key for s in suspects(both)] == ["loss.temperature", "optim.lr"]
    assert suspects(base.replace(**{"loss.objective": "ce", "loss.temperature": 0.01})) == []


def test_the_message_is_one_line_naming_the_likely_key():
    cold = RunConfig().replace(**{"loss.temperature": 0.02})
    assert non_finite_message("loss", math.nan, 7, cold) == (
        "the loss became nan at step 7; likely cause loss.temperature: raise loss.temperature (now 0.02; "
        "try 0.1 or more); else lower optim.lr")
    plain = RunConfig().replace(**{"optim.grad_clip": 0.0})
    assert non_finite_message("gradients", math.inf, 3, plain) == (
        "the gradients became inf at step 3; no setting stands out: lower optim.lr or set optim.grad_clip=1.0")


def test_a_tiny_temperature_run_that_goes_nan_names_the_temperature(tiny, monkeypatch):
    real = training_loop.objective_loss

    def nan_at_second_step(output, labels, config, stage, calls=[0]):  # noqa: B006 - a call counter
        loss, parts = real(output, labels, config, stage)
        calls[0] += 1
        return (loss * math.nan if calls[0] >= 2 else loss), parts

    monkeypatch.setattr(training_loop, "objective_loss", nan_at_second_step)
    result = train(tiny(loss__temperature=0.01, optim__lr=1e-4, loss__objective="scl"))
    assert result.status == "failed"
    assert result.error.startswith("the loss became nan at step 2; likely cause loss.temperature: ")


# --- what the property test (test_config_property.py) found ----------------------------------------------


def test_a_name_too_long_for_the_file_system_is_one_line():
    for key in ("data.dataset", "model.name", "output.runs_dir"):
        with pytest.raises(ConfigError, match=f"^{key} is too long for a file name"):
            apply_overrides(RunConfig(), {key: "a" * 300})
    assert apply_overrides(RunConfig(), {"data.dataset": "a" * 255}).data.dataset == "a" * 255


def test_no_validation_split_trains(tiny):
    result = train(tiny(data__validation_fraction=0.0, train__max_steps=2, loss__objective="ce"))
    assert result.status == "completed", result.error
