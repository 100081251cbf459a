"""Reading a sweep file: its TOML checked key by key, its base preset and variants, into a
`Sweep` (the layout is in lcl_tui/sweep.py's docstring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lcl_tui.catalog import SWEEPS, find
from lcl_tui.config import RUN_NAME_PATTERN, RunConfig, apply_overrides, load_config, read_toml_file
from lcl_tui.errors import ConfigError
from lcl_tui.sweep_baseline import with_baseline
from lcl_tui.sweep_grid import Sweep, Variant, expand_grid

SWEEP_KEYS = ("name", "description", "base", "seeds", "baseline", "config", "grid", "variants")
# Settings the sweep itself decides: the seed comes from `seeds`, the folder from the store.
RESERVED_KEYS = ("train.seed", "output.run_name", "output.runs_dir", "name")


def sweep_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists():
        return path
    return find(SWEEPS, str(name_or_path)) or path


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"loss": {"alpha": 1}}` and `{"loss.alpha": 1}` both become `{"loss.alpha": 1}`."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


def _check_keys(overrides: dict[str, Any], where: str) -> None:
    for key in overrides:
        if key in RESERVED_KEYS:
            fix = "list seeds in `seeds = [...]`" if key == "train.seed" else "the sweep sets it"
            raise ConfigError(f"{where}: '{key}' cannot be set in a sweep ({fix})")


def _load_base(spec: Any, source: Path | None) -> RunConfig:
    if spec is None:
        return RunConfig()
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("sweep 'base' must be a preset name or a .toml file")
    if source is not None and spec.endswith(".toml"):
        beside = source.parent / spec
        if beside.is_file():
            return load_config(beside)
    return load_config(spec)


def sweep_from_dict(raw: dict[str, Any], *, default_name: str = "sweep", source: Path | None = None) -> Sweep:
    """A validated sweep from a parsed TOML table (see the module doc for the layout)."""
    where = source.name if source else "sweep"
    unknown = [key for key in raw if key not in SWEEP_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(SWEEP_KEYS)})")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not RUN_NAME_PATTERN.match(name) or ".." in name or len(name) > 60:
        raise ConfigError(f"{where}: name {name!r} must be 1-60 letters, digits, '.', '_' or '-' "
                          "(it starts every run name)")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}: description must be text")

    base = _load_base(raw.get("base"), source)
    inline = raw.get("config", {})
    if not isinstance(inline, dict):
        raise ConfigError(f"{where}: 'config' must be a table ([config])")
    inline = flatten(inline)
    _check_keys(inline, f"{where} [config]")
    try:
        base = apply_overrides(base, inline) if inline else base
    except ConfigError as error:
        raise ConfigError(f"{where} [config]: {error}") from None

    grid_raw = raw.get("grid", {})
    if not isinstance(grid_raw, dict):
        raise ConfigError(f"{where}: 'grid' must be a table ([grid]) of section.key = [values]")
    grid = flatten(grid_raw)
    _check_keys(grid, f"{where} [grid]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where} [grid]: {key} must be a non-empty list, e.g. {key} = [0.1, 0.5]")
        if len({repr(v) for v in values}) != len(values):
            raise ConfigError(f"{where} [grid]: {key} lists a value twice; list each once")

    variants = _read_variants(raw.get("variants"), where)
    seeds = raw.get("seeds", [base.train.seed])
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise ConfigError(f"{where}: seeds must be a non-empty list of whole numbers, e.g. seeds = [1, 2, 3]")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: seeds lists a seed twice; list each once")
    sweep = Sweep(name=name, base=base, grid=grid, variants=variants, seeds=list(seeds),
                  description=description, source=source)
    expand_grid(sweep)  # every combination must make a valid config: fail now, not mid-sweep
    if "baseline" in raw:
        sweep = with_baseline(sweep, raw["baseline"], where=where)
    return sweep


def _read_variants(raw: Any, where: str) -> list[Variant]:
    if raw is None:
        return [Variant("", {})]
    if not isinstance(raw, list) or not raw or not all(isinstance(v, dict) for v in raw):
        raise ConfigError(f"{where}: variants must be [[variants]] tables, each with a label")
    variants = []
    for number, table in enumerate(raw, start=1):
        table = dict(table)
        label = table.pop("label", None)
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{where}: variant {number} needs a label, e.g. label = \"lcl-separate\"")
        overrides = flatten(table)
        _check_keys(overrides, f"{where} variant '{label}'")
        variants.append(Variant(label.strip(), overrides))
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{where}: two variants share a label; give each its own")
    return variants


def load_sweep(path: str | Path) -> Sweep:
    """A sweep file, by path or by a shipped (or ./sweeps/) sweep's name: `results-trec50`."""
    path = sweep_path(path)
    raw = read_toml_file(path, what="sweep",
                         missing_hint="; give a .toml sweep file or a sweep's name (see sweeps/)")
    return sweep_from_dict(raw, default_name=path.stem, source=path)
