"""The typed run configuration, its TOML presets and `--set section.key=value` overrides.

A config is plain data: dataclasses of str/int/float/bool/None. Every check that a user
can trip names the key and the fix, so the CLI and the app show it as one line.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import tomli_w

from lcl_tui.catalog import PRESETS, find, preset_files, preset_names, user_folder
from lcl_tui.errors import ConfigError

OBJECTIVES = ("ce", "scl", "scl-two-stage", "lcl")
POOLINGS = ("cls", "mean")
WEIGHTINGS = ("shared", "separate")
ARCHITECTURES = ("transformer", "rnn", "gru")
SAMPLERS = ("random", "length-grouped", "class-aware", "class-aware-grouped")
VIEWS = ("none", "dropout")
PRECISIONS = ("auto", "no", "fp16", "bf16")
LENGTH_BUCKETS = ("auto", "on", "off")
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
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


@dataclass
class DataConfig:
    # A registry name (`lcl-tui datasets`), a local CSV/TSV/JSONL/parquet file, or `hub:<id>`.
    dataset: str = "movie-snippets-5"
    text_column: str = "text"
    # A second text column joined to the first (AG News: title + description).
    text_pair_column: str | None = None
    label_column: str = "label"
    hub_config: str | None = None
    validation_fraction: float = 0.1
    # Used only when the source has no test split of its own.
    test_fraction: float = 0.2
    max_train_examples: int | None = None
    # Caps the validation split (evaluated many times a run). The test split is capped
    # only by max_test_examples: a sweep's settings all test on the same, whole test split.
    max_eval_examples: int | None = None
    max_test_examples: int | None = None
    split_seed: int = 13
    max_length: int = 64


@dataclass
class ModelConfig:
    # A hub id, a local folder, or `packaged:all-MiniLM-L6-v2` (works offline).
    name: str = PACKAGED_MODEL
    architecture: str = "transformer"
    pooling: str = "cls"
    head_dropout: float = 0.1
    trust_remote_code: bool = False
    # LCL's weighting network: a second encoder (`separate`, as the paper) or a head on
    # the shared encoder (`shared`, half the compute).
    weighting: str = "shared"
    weighting_model: str | None = None
    # RNN/GRU baselines only.
    embedding_dim: int = 128
    hidden_size: int = 128
    vocab_size: int = 20000


@dataclass
class LossConfig:
    objective: str = "lcl"
    alpha: float = 0.5
    temperature: float = 0.3
    # Stop LCL's gradient at the weights (the original lets it reach the weighting net).
    detach_weights: bool = False
    # The seed paper's failed experiment: tau scaled by the size of the positive set.
    adaptive_temperature: bool = False


@dataclass
class OptimConfig:
    lr: float = 1e-4
    # The classifier and weighting heads' rate; unset: the same as lr.
    head_lr: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    grad_clip: float = 1.0
    # Learning rate of the classifier on frozen features (scl-two-stage, stage 2).
    stage2_lr: float = 1e-3


@dataclass
class TrainConfig:
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    grad_accumulation: int = 1
    eval_batch_size: int = 128
    sampler: str = "class-aware"
    # Examples of each drawn class in a class-aware batch (>= 2 gives positives).
    examples_per_class: int = 4
    views: str = "none"
    eval_every_steps: int | None = None
    stage2_epochs: int = 3
    seed: int = 42
    device: str = "auto"
    mixed_precision: str = "auto"
    # Run each training batch through the encoder as a few sub-batches of like-length texts,
    # each padded only to its own longest (same batch, same loss, less padding): `auto` does
    # it where padding costs time (CPU), `on` and `off` force it.
    length_buckets: str = "auto"
    # Stop after this many evaluations without a better validation accuracy.
    patience: int | None = None


@dataclass
class OutputConfig:
    runs_dir: str = "runs"
    run_name: str | None = None
    save_checkpoints: bool = True


@dataclass
class RunConfig:
    name: str = "untitled"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(_drop_none(self.to_dict()))

    def replace(self, **overrides: Any) -> RunConfig:
        """A copy with `section.key` overrides applied and validated."""
        return apply_overrides(self, overrides)


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "optim": OptimConfig,
    "train": TrainConfig,
    "output": OutputConfig,
}
TOP_LEVEL_KEYS = ("name", "description")


def _drop_none(value: Any) -> Any:
    # TOML has no null: a missing key reads back as the default, which is None.
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def _field_types(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    """Check `value` against a field's annotation; ints are accepted where floats are."""
    text = str(annotation)
    optional = "None" in text
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key} must not be empty")
    if "bool" in text:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false (got {value!r})")
    if "float" in text:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise ConfigError(f"{key} must be a finite number (got {value!r})")
            return float(value)
        raise ConfigError(f"{key} must be a number (got {value!r})")
    if "int" in text:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT_MIN <= value <= INT_MAX:
                raise ConfigError(f"{key} must be a whole number that fits in 64 bits (got {value!r})")
            return value
        raise ConfigError(f"{key} must be a whole number (got {value!r})")
    if isinstance(value, str):
        return _check_text(key, value)
    raise ConfigError(f"{key} must be text (got {value!r})")


def _check_text(key: str, value: str) -> str:
    # A byte that is not UTF-8 on the command line arrives as a lone surrogate; it could not
    # be saved in the run's config.toml.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{key} holds bytes that are not UTF-8 text ({value!r}); retype it as UTF-8 "
                          "(or rename the file)") from None
    if "\x00" in value:  # no path, name or TOML string may hold one
        raise ConfigError(f"{key} holds a NUL character ({value!r}); remove it")
    return value


def config_from_dict(raw: dict[str, Any], base: RunConfig | None = None) -> RunConfig:
    """Build a validated config from nested dicts (a parsed TOML file)."""
    config = dataclasses.replace(base) if base is not None else RunConfig()
    sections = {name: dataclasses.replace(getattr(config, name)) for name in SECTIONS}
    top = {"name": config.name, "description": config.description}
    for key, value in raw.items():
        if key in TOP_LEVEL_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"{key} must be text (got {value!r})")
            top[key] = _check_text(key, value)
            continue
        if key not in SECTIONS:
            known = ", ".join([*TOP_LEVEL_KEYS, *SECTIONS])
            raise ConfigError(f"unknown config section or key '{key}' (known: {known})")
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}' must be a table of settings ([{key}] in TOML)")
        section = sections[key]
        types = _field_types(type(section))
        for sub_key, sub_value in value.items():
            full = f"{key}.{sub_key}"
            if sub_key not in types:
                known = ", ".join(types)
                raise ConfigError(f"unknown config key '{full}' (known in [{key}]: {known})")
            setattr(section, sub_key, _coerce(full, sub_value, types[sub_key]))
    config = RunConfig(**top, **sections)
    validate(config)
    return config


def _parse_override_value(text: str) -> Any:
    """`--set` values are TOML literals (1e-4, true, "x"); anything else is a string."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn `["loss.alpha=0.2", ...]` into `{"loss.alpha": 0.2}`."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set takes section.key=value (got {pair!r})")
        overrides[key] = _parse_override_value(value.strip())
    return overrides


def apply_overrides(config: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in TOP_LEVEL_KEYS:
            nested[key] = value
            continue
        section, dot, sub_key = key.partition(".")
        if not dot or not sub_key:
            raise ConfigError(
                f"override key '{key}' must be section.key, e.g. loss.alpha "
                f"(sections: {', '.join(SECTIONS)})"
            )
        nested.setdefault(section, {})[sub_key] = value
    return config_from_dict(nested, base=config)


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
    d, m, lo, o, t = config.data, config.model, config.loss, config.optim, config.train
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
    _check(bool(m.name.strip()), "model.name", "must name a model", m.name)
    for key, value in zip(PATH_KEYS, (d.dataset, m.name, m.weighting_model, config.output.runs_dir)):
        _check_path_length(key, value)
    _check_choice("model.architecture", m.architecture, ARCHITECTURES)
    _check_choice("model.pooling", m.pooling, POOLINGS)
    _check_choice("model.weighting", m.weighting, WEIGHTINGS)
    _check(0 <= m.head_dropout < 1, "model.head_dropout", "must be in [0, 1)", m.head_dropout)
    for key, value in (("model.embedding_dim", m.embedding_dim), ("model.hidden_size", m.hidden_size)):
        _check(1 <= value <= MAX_RNN_WIDTH, key, f"must be in [1, {MAX_RNN_WIDTH}]", value)
    _check(m.vocab_size >= 4, "model.vocab_size", "must be >= 4", m.vocab_size)
    _check_choice("loss.objective", lo.objective, OBJECTIVES)
    _check(0 <= lo.alpha <= 1, "loss.alpha", "must be in [0, 1]", lo.alpha)
    low, high = TEMPERATURE_RANGE
    _check(low <= lo.temperature <= high, "loss.temperature",
           f"must be in [{low}, {high:g}], where the losses are proven finite", lo.temperature)
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
    if config.output.run_name is not None:
        check_run_name(config.output.run_name, key="output.run_name")


def check_run_name(name: str, key: str = "run name") -> str:
    """Run names become folder names: no separators, no `..`, nothing hidden."""
    if not RUN_NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"{key} {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(at most 100, not starting with '.' and without '..')"
        )
    return name


def presets_dir() -> Path:
    """Your own presets: `./presets`, where the app saves one (the shipped ones: lcl_tui.catalog)."""
    return user_folder(PRESETS)


def list_presets() -> list[tuple[str, RunConfig]]:
    """Every preset by name, with its config; a broken preset file raises ConfigError."""
    return [(path.stem, load_config(path)) for path in preset_paths()]


def preset_paths() -> list[Path]:
    """Preset files, yours first, top level before subfolders (`presets/paper/`); names are
    file stems, each once."""
    return [entry.path for entry in preset_files()]


def resolve_preset_path(name_or_path: str) -> Path:
    """A path to a TOML file, or a preset's name (`quickstart`)."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file not found: {name_or_path} (give a .toml file or a preset name; see `lcl-tui presets`)")
        return path
    candidate = find(PRESETS, name_or_path)
    if candidate is not None:
        return candidate
    known = ", ".join(preset_names()[:12])
    raise ConfigError(f"unknown preset '{name_or_path}' (see `lcl-tui presets`; e.g. {known})")


def read_toml_file(path: Path, what: str = "preset", missing_hint: str = "") -> dict[str, Any]:
    """A TOML file's contents; every way it can fail is a one-line ConfigError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}{missing_hint}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the {what} file as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML ({error}); fix the file") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None


def load_config(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    path = resolve_preset_path(str(name_or_path))
    raw = read_toml_file(path)
    raw.setdefault("name", path.stem)
    try:
        config = config_from_dict(raw)
    except ConfigError as error:
        raise ConfigError(f"{path.name}: {error}") from None
    return apply_overrides(config, overrides) if overrides else config


def save_config(config: RunConfig, path: Path) -> None:
    from lcl_tui.atomic import atomic_write_text

    atomic_write_text(path, config.to_toml())
