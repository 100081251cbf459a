"""A sweep's grid: its settings (variants x grid values), each crossed with the seeds, with
a deterministic run name and a validated config per point."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcl_tui.config import RunConfig, apply_overrides
from lcl_tui.errors import ConfigError
from lcl_tui.text import slug

MAX_RUN_NAME = 100


@dataclass
class Variant:
    label: str
    overrides: dict[str, Any]


@dataclass
class Sweep:
    name: str
    base: RunConfig
    grid: dict[str, list[Any]]
    variants: list[Variant]
    seeds: list[int]
    description: str = ""
    source: Path | None = None
    baseline: str | None = None  # names the setting(s) the others are compared with


@dataclass
class Setting:
    """One cell of the grid: a label for tables and the overrides that make it."""

    label: str
    slug: str
    variant: str
    values: dict[str, Any]  # grid key -> value
    overrides: dict[str, Any]  # variant + grid, applied on the base


@dataclass
class SweepPoint:
    setting: Setting
    seed: int
    run_name: str
    config: RunConfig


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """`loss.alpha` -> `alpha`, unless two keys would then read the same."""
    last = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: (short if last.count(short) == 1 else key) for key, short in zip(keys, last)}


def format_value(value: Any) -> str:
    """A grid value as the tables write it (TOML's true/false, not Python's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _slug_word(key: str, value: Any) -> str:
    """`alpha0.2` for a number, `objective-ce` for a word."""
    text = slug(format_value(value))
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"{key}{text}" if numeric else f"{key}-{text}"


def _run_name(sweep_name: str, setting_slug: str, seed: int) -> str:
    name = "-".join(part for part in (sweep_name, setting_slug, f"seed{seed}") if part)
    if len(name) <= MAX_RUN_NAME:
        return name
    # Too long for a folder name: keep the start readable and the whole unique.
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_RUN_NAME - 10].rstrip('-.')}-{digest}"


def settings(sweep: Sweep) -> list[Setting]:
    """Every setting, variants outermost, then the grid in its keys' order."""
    keys = list(sweep.grid)
    short = short_keys(keys)
    found: list[Setting] = []
    for variant in sweep.variants:
        for values in itertools.product(*(sweep.grid[key] for key in keys)):
            chosen = dict(zip(keys, values))
            words = [f"{short[key]}={format_value(value)}" for key, value in chosen.items()]
            label = " ".join(part for part in (variant.label, *words) if part) or "base"
            slug_words = [_slug_word(short[key], value) for key, value in chosen.items()]
            joined = "-".join(slug(part) for part in (variant.label, *slug_words) if slug(part))
            found.append(Setting(label=label, slug=joined, variant=variant.label, values=chosen,
                                 overrides={**variant.overrides, **chosen}))
    slugs = [s.slug for s in found]
    for setting in found:
        if slugs.count(setting.slug) > 1:  # values that slug alike ("a/b", "a-b"): keep names apart
            setting.slug = f"{setting.slug}-{hashlib.sha1(setting.label.encode()).hexdigest()[:6]}"
    return found


def expand_grid(sweep: Sweep, runs_dir: str | Path | None = None) -> list[SweepPoint]:
    """Every (setting, seed) with its run name and validated config, seeds innermost."""
    where = sweep.source.name if sweep.source else sweep.name
    points = []
    for setting in settings(sweep):
        for seed in sweep.seeds:
            run_name = _run_name(sweep.name, setting.slug, seed)
            overrides = {**setting.overrides, "train.seed": seed, "output.run_name": run_name,
                         "name": f"{sweep.name} {setting.label}"}
            if runs_dir is not None:
                overrides["output.runs_dir"] = str(runs_dir)
            try:
                config = apply_overrides(sweep.base, overrides)
            except ConfigError as error:
                raise ConfigError(f"{where}, setting '{setting.label}': {error}") from None
            points.append(SweepPoint(setting=setting, seed=seed, run_name=run_name, config=config))
    return points
