"""A sweep's baseline: which setting each setting is compared with, and the difference
columns (seed t-interval and paired bootstrap, from significance.py) for the tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lcl_tui.errors import ConfigError
from lcl_tui.sweep_grid import Setting, Sweep, format_value, settings, short_keys

if TYPE_CHECKING:
    from lcl_tui.sweep import SettingResult


def with_baseline(sweep: Sweep, spec: Any, where: str | None = None) -> Sweep:
    """The sweep with `spec` as its baseline, checked against its settings (see the module doc)."""
    where = where or (sweep.source.name if sweep.source else sweep.name)
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"{where}: baseline must name a setting, e.g. baseline = \"ce\"")
    named = dataclasses.replace(sweep, baseline=" ".join(spec.split()))
    baselines(named, where)
    return named


def baselines(sweep: Sweep, where: str = "sweep") -> dict[str, Setting]:
    """Each setting's baseline, by the setting's slug."""
    spec = sweep.baseline or ""
    found = settings(sweep)
    exact = [s for s in found if spec in (s.label, s.slug)]
    if exact:
        return {s.slug: exact[0] for s in found}
    keys = list(sweep.grid)
    names = {**{short: key for key, short in short_keys(keys).items()}, **{key: key for key in keys}}
    fixed: dict[str, str] = {}
    words = []
    for word in spec.split():
        key, equals, value = word.partition("=")
        if not equals:
            words.append(word)
        elif key not in names:
            raise ConfigError(f"{where}: baseline {spec!r} sets '{key}', which the grid does not vary "
                              f"({_grid_hint(keys)})")
        elif not any(_same_value(v, value) for v in sweep.grid[names[key]]):
            listed = ", ".join(format_value(v) for v in sweep.grid[names[key]])
            raise ConfigError(f"{where}: baseline {spec!r}: {key} takes {listed} in this grid, not {value}")
        else:
            fixed[names[key]] = value
    variant = " ".join(words)
    labels = [v.label for v in sweep.variants if v.label]
    if variant and variant not in labels:
        raise ConfigError(f"{where}: baseline {spec!r} names no setting; give a setting's label or slug "
                          f"(e.g. {found[0].label!r}), a variant ({', '.join(labels) or 'none here'}) "
                          f"or grid values ({_grid_hint(keys)})")
    chosen = {}
    for setting in found:
        target = [s for s in found if s.variant == (variant or setting.variant)
                  and all(_same_value(s.values[k], fixed[k]) if k in fixed else s.values[k] == setting.values[k]
                          for k in keys)]
        chosen[setting.slug] = target[0]
    return chosen


def _grid_hint(keys: Sequence[str]) -> str:
    return "grid keys: " + ", ".join(short_keys(keys).values()) if keys else "this sweep has no grid"


def _same_value(value: Any, text: str) -> bool:
    if format_value(value) == text:
        return True
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        return numeric and float(text) == value
    except ValueError:
        return False


def compare_with_baselines(sweep: Sweep, results: Sequence[SettingResult]) -> None:
    """Fill in each result's baseline and its comparison with it, over the seeds both ran."""
    from lcl_tui.significance import PairedBootstrap, compare

    chosen = baselines(sweep)
    by_slug = {result.setting.slug: result for result in results}
    bootstrap = PairedBootstrap()  # each run resampled once, however many comparisons it is in
    for result in results:
        baseline = by_slug[chosen[result.setting.slug].slug]
        result.baseline = baseline.setting
        result.comparison = None if baseline is result else compare(result.runs, baseline.runs, bootstrap)


DIFFERENCE_COLUMNS = ("Δ accuracy, seeds", "Δ accuracy, bootstrap", "p, accuracy", "Δ macro-F1, seeds",
                      "Δ macro-F1, bootstrap", "p, macro-F1")


def difference_cells(result: SettingResult) -> list[str]:
    """The six cells of DIFFERENCE_COLUMNS: `baseline` on the baseline's own row."""
    from lcl_tui.significance import bootstrap_cell, p_value_cell, seed_cell

    comparison = result.comparison
    if result.baseline is None:
        return [""] * len(DIFFERENCE_COLUMNS)
    if comparison is None:
        return ["baseline"] + ["-"] * (len(DIFFERENCE_COLUMNS) - 1)

    def bootstrap(difference) -> str:
        cell = bootstrap_cell(difference)
        return f"n/a ({comparison.bootstrap_missing})" if difference is None else cell

    return [seed_cell(comparison.accuracy), bootstrap(comparison.bootstrap_accuracy),
            p_value_cell(comparison.bootstrap_accuracy), seed_cell(comparison.macro_f1),
            bootstrap(comparison.bootstrap_macro_f1), p_value_cell(comparison.bootstrap_macro_f1)]


def baseline_legend(results: Sequence[SettingResult]) -> str:
    from lcl_tui.significance import BOOTSTRAP_DRAWS

    bases = {result.baseline.label for result in results if result.baseline is not None}
    against = (f"the baseline `{bases.pop()}`" if len(bases) == 1
               else "each setting's baseline (" + ", ".join(f"`{b}`" for b in sorted(bases)) + ")")
    return (f"Δ: the setting minus {against} in percentage points, the mean over the seeds both ran. "
            "Seeds: 95% t-interval of the per-seed differences (training randomness; none with 1 seed). "
            f"Bootstrap: 95% interval from {BOOTSTRAP_DRAWS:,} paired resamples of the test rows (test-set "
            "sampling), p its two-sided p-value. *: the interval excludes 0 (not corrected for the "
            "number of comparisons).")


DIFFERENCE_CSV_COLUMNS = (
    "baseline", "pairs",
    "accuracy_diff", "accuracy_diff_seed_low", "accuracy_diff_seed_high",
    "accuracy_diff_boot_low", "accuracy_diff_boot_high", "accuracy_diff_p",
    "macro_f1_diff", "macro_f1_diff_seed_low", "macro_f1_diff_seed_high",
    "macro_f1_diff_boot_low", "macro_f1_diff_boot_high", "macro_f1_diff_p",
    "bootstrap_pairs", "bootstrap_missing",
)


def difference_csv(result: SettingResult, number: Callable[[float | None], str]) -> list[str | int]:
    """The DIFFERENCE_CSV_COLUMNS of one result, as fractions; empty where there is none."""
    comparison = result.comparison
    if result.baseline is None:
        return [""] * len(DIFFERENCE_CSV_COLUMNS)
    if comparison is None:
        return [result.baseline.label] + [""] * (len(DIFFERENCE_CSV_COLUMNS) - 1)
    row: list[str | int] = [result.baseline.label, comparison.accuracy.pairs if comparison.accuracy else 0]
    for seeds, boot in ((comparison.accuracy, comparison.bootstrap_accuracy),
                        (comparison.macro_f1, comparison.bootstrap_macro_f1)):
        seed_interval = seeds.interval if seeds else None
        row += [number(seeds.mean if seeds else None),
                number(seed_interval.low if seed_interval else None),
                number(seed_interval.high if seed_interval else None),
                number(boot.interval.low if boot else None), number(boot.interval.high if boot else None),
                "" if boot is None else f"{boot.p_value:.4f}"]
    boot = comparison.bootstrap_accuracy
    return row + [boot.pairs if boot else 0, comparison.bootstrap_missing]
