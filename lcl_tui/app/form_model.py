"""The experiment form as data: its fields, and turning typed text into a RunConfig.

No Textual here. Errors come from the config's own validation, so the form and the CLI
reject the same things with the same words; each error is pinned to the field whose key
it names.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcl_tui.config import (
    ARCHITECTURES,
    POOLINGS,
    SAMPLERS,
    RunConfig,
    apply_overrides,
    parse_overrides,
)
from lcl_tui.errors import ConfigError

# The loss choice sets two config keys: LCL's weighting network lives in model.weighting.
LOSS_CHOICES: list[tuple[str, str]] = [
    ("Cross-entropy (CE)", "ce"),
    ("SCL, joint with CE", "scl"),
    ("SCL, two-stage", "scl-two-stage"),
    ("LCL, separate weighting network", "lcl:separate"),
    ("LCL, shared weighting head", "lcl:shared"),
]
LOSS_FIELD = "loss"


@dataclass(frozen=True)
class FieldSpec:
    key: str  # a config key (section.key), or LOSS_FIELD
    label: str
    kind: str = "text"  # text | choice
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False  # empty text means "unset" (None)
    placeholder: str = ""
    # Config keys whose errors belong to this field (besides `key`).
    also_owns: tuple[str, ...] = ()


def _choices(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


FIELDS: list[FieldSpec] = [
    FieldSpec("name", "Experiment name"),
    FieldSpec("data.dataset", "Dataset (name or file)", placeholder="movie-snippets-5 or path/to/data.csv"),
    FieldSpec("data.text_column", "Text column"),
    FieldSpec("data.text_pair_column", "Second text column", optional=True, placeholder="(none)"),
    FieldSpec("data.label_column", "Label column"),
    FieldSpec("model.name", "Model (packaged/hub id/folder)"),
    FieldSpec("model.architecture", "Architecture", "choice", _choices(ARCHITECTURES)),
    FieldSpec(LOSS_FIELD, "Loss", "choice", tuple(LOSS_CHOICES), also_owns=("loss.objective", "model.weighting")),
    # The objective is alpha * CE terms + (1 - alpha) * contrastive: alpha weighs the CE side.
    FieldSpec("loss.alpha", "alpha (weight of the CE terms)"),
    FieldSpec("loss.temperature", "tau (temperature)"),
    FieldSpec("train.batch_size", "Batch size", also_owns=("train.examples_per_class",)),
    FieldSpec("optim.lr", "Learning rate"),
    FieldSpec("train.epochs", "Epochs"),
    FieldSpec("train.max_steps", "Max steps (over epochs)", optional=True, placeholder="(epochs decide)"),
    FieldSpec("train.eval_every_steps", "Evaluate every (steps)", optional=True,
              placeholder="(about 9 times a run)"),
    FieldSpec("data.max_length", "Max length (tokens)"),
    FieldSpec("model.pooling", "Pooling", "choice", _choices(POOLINGS)),
    FieldSpec("train.sampler", "Sampler", "choice", _choices(SAMPLERS)),
    FieldSpec("train.seed", "Seed"),
    FieldSpec("train.device", "Device (auto/cpu/cuda:N/mps)"),
    FieldSpec("output.run_name", "Run name", optional=True, placeholder="(date and experiment name)"),
]
FIELD_KEYS = [spec.key for spec in FIELDS]
# Files that carry their own columns; registry datasets have them fixed.
FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
COLUMN_KEYS = ("data.text_column", "data.text_pair_column", "data.label_column")


def is_local_file(dataset: str) -> bool:
    text = dataset.strip()
    if text.startswith("hub:"):
        return False
    return "/" in text or text.lower().endswith(FILE_SUFFIXES)


def _looks_like_a_path(name: str) -> bool:
    # Hub ids have a slash too (org/name): only these spellings are surely folders.
    return name.startswith(("/", "./", "../", "~"))


def missing_paths(config: RunConfig) -> dict[str, str]:
    """Files and folders the config names that are not there (caught before a run starts)."""
    problems: dict[str, str] = {}
    dataset = config.data.dataset.strip()
    if is_local_file(dataset) and not Path(dataset).expanduser().exists():
        problems["data.dataset"] = f"data.dataset: no file or folder at {dataset}"
    model = config.model.name.strip()
    if _looks_like_a_path(model) and not Path(model).expanduser().is_dir():
        problems["model.name"] = f"model.name: no model folder at {model}"
    return problems


def unknown_dataset(config: RunConfig, known: Collection[str] | None) -> dict[str, str]:
    """A dataset name that is neither in the registry nor a file, folder or hub id: caught
    in the form, not after Ctrl+T. `known` None: the registry is not listed yet, no check."""
    dataset = config.data.dataset.strip()
    if (known is None or dataset in known or dataset.lower().startswith("hub:") or is_local_file(dataset)
            or Path(dataset).expanduser().exists()):
        return {}
    return {"data.dataset": f"data.dataset: unknown dataset '{dataset}'; choose one from the registry "
                            "list above, type a local file's path, or hub:<id>"}


def _get(config: RunConfig, key: str) -> Any:
    if "." not in key:
        return getattr(config, key)
    section, sub_key = key.split(".", 1)
    return getattr(getattr(config, section), sub_key)


def form_values(config: RunConfig) -> dict[str, str]:
    """The text each field shows for `config`."""
    values: dict[str, str] = {}
    for spec in FIELDS:
        if spec.key == LOSS_FIELD:
            objective = config.loss.objective
            values[spec.key] = f"lcl:{config.model.weighting}" if objective == "lcl" else objective
            continue
        value = _get(config, spec.key)
        if value is None:
            values[spec.key] = ""
        elif isinstance(value, float):
            values[spec.key] = f"{value:g}"
        else:
            values[spec.key] = str(value)
    return values


def _overrides_for(spec: FieldSpec, text: str) -> dict[str, Any]:
    text = text.strip()
    if spec.key == LOSS_FIELD:
        objective, _, weighting = text.partition(":")
        overrides: dict[str, Any] = {"loss.objective": objective}
        if weighting:
            overrides["model.weighting"] = weighting
        return overrides
    if text == "" and spec.optional:
        return {spec.key: None}
    if spec.kind == "choice" or spec.key in ("name", "data.dataset", "model.name", "output.run_name") or spec.key in COLUMN_KEYS or spec.key == "train.device":
        # Free text stays text: a model called `1e-4` or a file `true.csv` is still a name.
        return {spec.key: text}
    return parse_overrides([f"{spec.key}={text}"])


def owner_of(message: str) -> str | None:
    """The field an error message is about: the first field key the message names."""
    best: tuple[int, str] | None = None
    for spec in FIELDS:
        for key in (spec.key, *spec.also_owns):
            if key == LOSS_FIELD:
                continue
            position = message.find(key)
            if position >= 0 and (best is None or position < best[0]):
                best = (position, spec.key)
    return best[1] if best else None


@dataclass
class FormResult:
    config: RunConfig | None
    errors: dict[str, str] = field(default_factory=dict)  # field key -> message
    general: str | None = None  # an error no single field owns

    @property
    def ok(self) -> bool:
        return self.config is not None


def build_config(base: RunConfig, values: dict[str, str], known_datasets: Collection[str] | None = None) -> FormResult:
    """Validate the form against `base` (the loaded preset); every bad field gets its error.
    `known_datasets`: the registry's names, once listed."""
    errors: dict[str, str] = {}
    accepted: dict[str, Any] = {}
    # Field by field first, so that several bad fields are all reported at once.
    for spec in FIELDS:
        if spec.key not in values:
            continue
        try:
            overrides = _overrides_for(spec, values[spec.key])
            apply_overrides(base, overrides)
        except ConfigError as error:
            owner = owner_of(str(error))
            if owner in (None, spec.key):
                errors[spec.key] = str(error)
                continue
            # A cross-field check tripped by this value is reported below, on the whole config.
        accepted.update(overrides)
    if errors:
        return FormResult(None, errors)
    try:
        config = apply_overrides(base, accepted)
    except ConfigError as error:
        owner = owner_of(str(error))
        if owner is None:
            return FormResult(None, {}, str(error))
        return FormResult(None, {owner: str(error)})
    problems = missing_paths(config) | unknown_dataset(config, known_datasets)
    if problems:
        return FormResult(None, problems)
    return FormResult(config)
