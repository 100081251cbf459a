"""The config's value checks: the choices and ranges each key takes, and run names. Each
error names its key and the fix, so the CLI and the app show it as one line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lcl_tui.errors import ConfigError

if TYPE_CHECKING:
    from lcl_tui.config import DataConfig, LossConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig

OBJECTIVES = ("ce", "scl", "scl-two-stage", "lcl")
POOLINGS = ("cls", "mean")
WEIGHTINGS = ("shared", "separate")
ARCHITECTURES = ("transformer", "rnn", "gru")
SAMPLERS = ("random", "length-grouped", "class-aware", "class-aware-grouped")
VIEWS = ("none", "dropout")
PRECISIONS = ("auto", "no", "fp16", "bf16")
LENGTH_BUCKETS = ("auto", "on", "off")
# Run names become folder names: no separators, no `..`, nothing hidden.
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d{1,4})?")
# TOML integers are 64-bit: a config.toml must hold every value a config can have.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# torch.manual_seed takes 0..2**64-1 (and random.Random any int); TOML caps it at 2**63-1.
SEED_MAX = INT_MAX
# The range tests/test_losses.py proves the contrastive losses finite (and their gradients) over.
TEMPERATURE_RANGE = (0.01, 1000.0)
# A step budget or epoch count beyond these is a typo (an extra zero or three), not a plan.
MAX_STEPS = 10_000_000
MAX_EPOCHS = 1000
# The RNN/GRU baselines' widths: far past any baseline, short of filling memory at build time.
MAX_RNN_WIDTH = 4096
# Keys that may name a file or folder, and the longest names file systems take (NAME_MAX,
# PATH_MAX on Linux): past them every look-up fails with "File name too long".
PATH_KEYS = ("data.dataset", "model.name", "model.weighting_model", "output.runs_dir")
MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 4096


def _check(condition: bool, key: str, message: str, value: Any) -> None:
    if not condition:
        raise ConfigError(f"{key} {message} (got {value!r})")


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    _check(value in choices, key, f"must be one of {', '.join(choices)}", value)


def _check_path_length(key: str, value: str | None) -> None:
    if value is None:
        return
    encoded = value.encode("utf-8", "surrogateescape")
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    _check(longest <= MAX_NAME_BYTES and len(encoded) <= MAX_PATH_BYTES, key,
           f"is too long for a file name (at most {MAX_NAME_BYTES} bytes a name, {MAX_PATH_BYTES} in all)",
           value if len(value) <= 60 else f"{value[:57]}...")


def validate(config: RunConfig) -> None:
    """Range checks that the types alone do not give; each error names its key."""
    _validate_data(config.data)
    _validate_model(config.model)
    for key, value in zip(PATH_KEYS, (config.data.dataset, config.model.name, config.model.weighting_model,
                                      config.output.runs_dir)):
        _check_path_length(key, value)
    _validate_loss(config.loss)
    _validate_optim(config.optim)
    _validate_train(config.train)
    if config.output.run_name is not None:
        check_run_name(config.output.run_name, key="output.run_name")


def _validate_data(d: DataConfig) -> None:
    _check(bool(d.dataset.strip()), "data.dataset", "must name a dataset or file", d.dataset)
    _check(0 <= d.validation_fraction < 1, "data.validation_fraction", "must be in [0, 1)", d.validation_fraction)
    _check(0 < d.test_fraction < 1, "data.test_fraction", "must be in (0, 1)", d.test_fraction)
    _check(d.validation_fraction + d.test_fraction < 1, "data.test_fraction",
           "plus data.validation_fraction must leave training data (< 1)", d.test_fraction)
    for key, value in (("data.max_train_examples", d.max_train_examples),
                       ("data.max_eval_examples", d.max_eval_examples),
                       ("data.max_test_examples", d.max_test_examples)):
        _check(value is None or value >= 1, key, "must be >= 1 or unset", value)
    _check(2 <= d.max_length <= 8192, "data.max_length", "must be in [2, 8192]", d.max_length)


def _validate_model(m: ModelConfig) -> None:
    _check(bool(m.name.strip()), "model.name", "must name a model", m.name)
    _check_choice("model.architecture", m.architecture, ARCHITECTURES)
    _check_choice("model.pooling", m.pooling, POOLINGS)
    _check_choice("model.weighting", m.weighting, WEIGHTINGS)
    _check(0 <= m.head_dropout < 1, "model.head_dropout", "must be in [0, 1)", m.head_dropout)
    for key, value in (("model.embedding_dim", m.embedding_dim), ("model.hidden_size", m.hidden_size)):
        _check(1 <= value <= MAX_RNN_WIDTH, key, f"must be in [1, {MAX_RNN_WIDTH}]", value)
    _check(m.vocab_size >= 4, "model.vocab_size", "must be >= 4", m.vocab_size)


def _validate_loss(lo: LossConfig) -> None:
    _check_choice("loss.objective", lo.objective, OBJECTIVES)
    _check(0 <= lo.alpha <= 1, "loss.alpha", "must be in [0, 1]", lo.alpha)
    low, high = TEMPERATURE_RANGE
    _check(low <= lo.temperature <= high, "loss.temperature",
           f"must be in [{low}, {high:g}], where the losses are proven finite", lo.temperature)


def _validate_optim(o: OptimConfig) -> None:
    _check(o.lr > 0, "optim.lr", "must be > 0", o.lr)
    _check(o.head_lr is None or o.head_lr > 0, "optim.head_lr", "must be > 0 or unset", o.head_lr)
    _check(o.stage2_lr > 0, "optim.stage2_lr", "must be > 0", o.stage2_lr)
    _check(o.weight_decay >= 0, "optim.weight_decay", "must be >= 0", o.weight_decay)
    # AdamW shrinks each weight by lr x weight_decay a step: at 1 or more it flips their signs.
    top_key, top_lr = max((("optim.lr", o.lr), ("optim.head_lr", o.head_lr or 0.0),
                           ("optim.stage2_lr", o.stage2_lr)), key=lambda pair: pair[1])
    if o.weight_decay * top_lr >= 1:
        raise ConfigError(f"optim.weight_decay x {top_key} must be < 1, or AdamW flips the weights' signs "
                          f"every step (got {o.weight_decay:g} x {top_lr:g}); lower one of them")
    _check(0 <= o.warmup_ratio < 1, "optim.warmup_ratio", "must be in [0, 1)", o.warmup_ratio)
    _check(o.grad_clip >= 0, "optim.grad_clip", "must be >= 0 (0 turns clipping off)", o.grad_clip)


def _validate_train(t: TrainConfig) -> None:
    _check(1 <= t.epochs <= MAX_EPOCHS, "train.epochs", f"must be in [1, {MAX_EPOCHS}]", t.epochs)
    _check(t.max_steps is None or 1 <= t.max_steps <= MAX_STEPS, "train.max_steps",
           f"must be in [1, {MAX_STEPS:,}] or unset", t.max_steps)
    _check(t.batch_size >= 1, "train.batch_size", "must be >= 1", t.batch_size)
    _check(t.eval_batch_size >= 1, "train.eval_batch_size", "must be >= 1", t.eval_batch_size)
    _check(t.grad_accumulation >= 1, "train.grad_accumulation", "must be >= 1", t.grad_accumulation)
    _check_choice("train.sampler", t.sampler, SAMPLERS)
    _check(t.examples_per_class >= 1, "train.examples_per_class", "must be >= 1", t.examples_per_class)
    _check(t.examples_per_class <= t.batch_size, "train.examples_per_class",
           f"must be <= train.batch_size ({t.batch_size})", t.examples_per_class)
    _check_choice("train.views", t.views, VIEWS)
    _check(t.eval_every_steps is None or t.eval_every_steps >= 1, "train.eval_every_steps",
           "must be >= 1 or unset", t.eval_every_steps)
    _check(1 <= t.stage2_epochs <= MAX_EPOCHS, "train.stage2_epochs", f"must be in [1, {MAX_EPOCHS}]",
           t.stage2_epochs)
    _check(0 <= t.seed <= SEED_MAX, "train.seed", "must be in [0, 2**63-1] (torch's seeds, in TOML's range)",
           t.seed)
    _check(t.patience is None or t.patience >= 1, "train.patience", "must be >= 1 or unset", t.patience)
    _check(DEVICE_PATTERN.fullmatch(t.device) is not None, "train.device",
           "must be auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps", t.device)
    _check_choice("train.mixed_precision", t.mixed_precision, PRECISIONS)
    _check_choice("train.length_buckets", t.length_buckets, LENGTH_BUCKETS)


def check_run_name(name: str, key: str = "run name") -> str:
    """Run names become folder names: no separators, no `..`, nothing hidden."""
    if not RUN_NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"{key} {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(at most 100, not starting with '.' and without '..')"
        )
    return name
