"""The typed run configuration, its TOML presets and `--set section.key=value` overrides.

A config is plain data: dataclasses of str/int/float/bool/None. Every check that a user
can trip names the key and the fix, so the CLI and the app show it as one line.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import tomli_w

from lcl_tui.catalog import PRESETS, find, preset_files, preset_names, user_folder
from lcl_tui.config_checks import (  # noqa: F401 - the choices and ranges are part of this module's API
    ARCHITECTURES,
    DEVICE_PATTERN,
    INT_MAX,
    INT_MIN,
    LENGTH_BUCKETS,
    MAX_EPOCHS,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    MAX_RNN_WIDTH,
    MAX_STEPS,
    OBJECTIVES,
    PATH_KEYS,
    POOLINGS,
    PRECISIONS,
    RUN_NAME_PATTERN,
    SAMPLERS,
    SEED_MAX,
    TEMPERATURE_RANGE,
    VIEWS,
    WEIGHTINGS,
    check_run_name,
    validate,
)
from lcl_tui.errors import ConfigError

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


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
    # it where padding costs time (CPU in full precision), `on` and `off` force it.
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
