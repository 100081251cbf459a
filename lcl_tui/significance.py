"""Is a setting better than its baseline? Paired differences with 95% intervals.

Two intervals for the difference (setting minus baseline) in test accuracy and macro-F1,
each over the seeds both settings ran (runs pair up by seed):

* **over seeds**: the mean of the per-seed differences with a Student-t interval,
  mean ± t(0.975, n-1) · sd / sqrt(n). It measures training randomness (seeds). With one
  seed there is no spread to measure: the difference stands alone, with no interval.
* **bootstrap over test rows**: resample the test rows with replacement (the same
  resample for every run on those rows), and on each of 2,000 draws take the mean over
  seeds of the difference; the 2.5th and 97.5th percentiles are the interval, and the
  two-sided p-value is twice the smaller share of draws at or beyond 0, i.e.
  min(1, 2 (min(#d <= 0, #d >= 0) + 1) / (draws + 1)); identical predictions give p = 1.
  It measures test-set sampling for the seeds at hand; it needs the runs' stored test
  predictions (`stored_predictions.py`) on the same test rows.

A difference is marked when its interval excludes 0. Nothing corrects for the many
comparisons of a large grid: at 95%, about 1 in 20 differences of nothing is marked.
The draws come from a fixed seed, so a table reads the same every time it is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lcl_tui.stored_predictions import StoredPredictions

CONFIDENCE = 0.95
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 12345
_CHUNK = 250  # draws resampled at a time: bounds memory at CHUNK x test rows


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class SeedDifference:
    """The mean over paired seeds of (setting - baseline); no interval with one pair."""

    mean: float
    pairs: int
    interval: Interval | None


@dataclass(frozen=True)
class BootstrapDifference:
    mean: float  # on the whole test split: the mean over seeds of the difference
    pairs: int
    interval: Interval
    p_value: float


@dataclass(frozen=True)
class RunScore:
    """One completed run of a setting: its seed, test scores and stored predictions, if any."""

    seed: int
    accuracy: float
    macro_f1: float
    predictions: StoredPredictions | None = None


@dataclass(frozen=True)
class Comparison:
    """A setting against its baseline, over the seeds both ran."""

    accuracy: SeedDifference | None  # None: no seed in common yet
    macro_f1: SeedDifference | None
    bootstrap_accuracy: BootstrapDifference | None
    bootstrap_macro_f1: BootstrapDifference | None
    bootstrap_missing: str = ""  # why there is no bootstrap (shown after "n/a")


# --- the t-interval over seeds ----------------------------------------------------------------


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with a whole number of degrees of freedom (exact series,
    Abramowitz & Stegun 26.7.3-4)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1 (got {df})")
    theta = math.atan2(abs(t), math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd
        total, term = 0.0, 1.0
        for k in range(1, (df - 1) // 2 + 1):
            total += term
            term *= cos2 * (2 * k) / (2 * k + 1)
        inside = theta + (sin * math.cos(theta) * total if df > 1 else 0.0)
        central = 2 / math.pi * inside
    else:
        total, term = 0.0, 1.0
        for k in range(1, df // 2 + 1):
            total += term
            term *= cos2 * (2 * k - 1) / (2 * k)
        central = sin * total
    return 0.5 + math.copysign(central / 2, t)


def t_quantile(probability: float, df: int) -> float:
    """The t value below which `probability` of Student's t(df) lies (bisection on t_cdf)."""
    if not 0 < probability < 1:
        raise ValueError(f"probability must be in (0, 1) (got {probability})")
    low, high = -1.0, 1.0
    while t_cdf(low, df) > probability:
        low *= 2
    while t_cdf(high, df) < probability:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, abs(middle)):
            break
    return (low + high) / 2


def seed_difference(setting: dict[int, float], baseline: dict[int, float],
                    confidence: float = CONFIDENCE) -> SeedDifference | None:
    """Pair the two settings' scores by seed; None when they share no seed."""
    seeds = sorted(set(setting) & set(baseline))
    if not seeds:
        return None
    differences = [setting[s] - baseline[s] for s in seeds]
    mean = math.fsum(differences) / len(differences)
    if len(differences) < 2:
        return SeedDifference(mean, 1, None)
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (len(differences) - 1))
    half = t_quantile(0.5 + confidence / 2, len(differences) - 1) * sd / math.sqrt(len(differences))
    return SeedDifference(mean, len(differences), Interval(mean - half, mean + half))


# --- the paired bootstrap over test rows ---------------------------------------------------------


def _resample_counts(rows: int, draws: int, seed: int) -> list[np.ndarray]:
    """How often each test row appears in each draw, in chunks of `_CHUNK` draws. The draws
    depend only on the number of rows and the seed: every run on the same rows gets them.
    Counts are whole numbers below 2**24, exact in float32."""
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, draws, _CHUNK):
        size = min(_CHUNK, draws - start)
        picks = rng.integers(0, rows, size=(size, rows))
        offsets = (np.arange(size) * rows)[:, None]
        counts = np.bincount((picks + offsets).ravel(), minlength=size * rows).reshape(size, rows)
        chunks.append(counts.astype(np.float32))
    return chunks


def _scores(counts: np.ndarray, run: StoredPredictions) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro-F1 for each row of `counts` (example weights), as metrics.py
    computes them: F1 averaged over the classes found in the labels or the predictions."""
    labels, predictions = np.asarray(run.labels), np.asarray(run.predictions)
    classes = np.eye(run.num_labels, dtype=np.float32)
    correct = (labels == predictions).astype(np.float32)[:, None]
    # One product gives, per draw: rows, right answers, and per class true positives and
    # true + predicted counts.
    columns = np.concatenate([np.ones_like(correct), correct, classes[labels] * correct,
                              classes[labels] + classes[predictions]], axis=1)
    sums = (counts @ np.asfortranarray(columns)).astype(float)
    k = run.num_labels
    accuracy = sums[:, 1] / sums[:, 0]
    true_positives, support = sums[:, 2:2 + k], sums[:, 2 + k:]
    present = support > 0
    f1 = np.divide(2 * true_positives, support, out=np.zeros_like(support), where=present)
    macro_f1 = f1.sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    return accuracy, macro_f1


class PairedBootstrap:
    """Resampled scores of each run, computed once and shared by every comparison it is in."""

    def __init__(self, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED):
        self.draws, self.seed = draws, seed
        self._counts: dict[int, list[np.ndarray]] = {}  # by number of test rows
        self._cache: dict[int, tuple[StoredPredictions, np.ndarray, np.ndarray, float, float]] = {}

    def _run(self, run: StoredPredictions) -> tuple[np.ndarray, np.ndarray, float, float]:
        cached = self._cache.get(id(run))
        if cached is None or cached[0] is not run:
            rows = len(run.labels)
            if rows not in self._counts:
                self._counts[rows] = _resample_counts(rows, self.draws, self.seed)
            parts = [_scores(counts, run) for counts in self._counts[rows]]
            whole_accuracy, whole_f1 = _scores(np.ones((1, rows), dtype=np.float32), run)
            cached = (run, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                      float(whole_accuracy[0]), float(whole_f1[0]))
            self._cache[id(run)] = cached
        return cached[1:]

    def compare(self, setting: Sequence[StoredPredictions], baseline: Sequence[StoredPredictions]
                ) -> tuple[BootstrapDifference, BootstrapDifference]:
        """Accuracy and macro-F1 differences; `setting[i]` and `baseline[i]` share a seed."""
        if not setting or len(setting) != len(baseline):
            raise ValueError("the bootstrap needs one baseline run per setting run, at least one pair")
        if len({run.test_rows for run in (*setting, *baseline)}) != 1:
            raise ValueError("the runs did not test on the same rows")
        pairs = [(self._run(a), self._run(b)) for a, b in zip(setting, baseline)]
        differences = []
        for metric in (0, 1):  # accuracy, macro-F1
            draws = np.mean([a[metric] - b[metric] for a, b in pairs], axis=0)
            whole = math.fsum(a[metric + 2] - b[metric + 2] for a, b in pairs) / len(pairs)
            differences.append(_bootstrap_difference(whole, draws, len(pairs)))
        return differences[0], differences[1]


def _bootstrap_difference(whole: float, draws: np.ndarray, pairs: int,
                          confidence: float = CONFIDENCE) -> BootstrapDifference:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    at_or_below, at_or_above = int(np.sum(draws <= 0)), int(np.sum(draws >= 0))
    p_value = min(1.0, 2 * (min(at_or_below, at_or_above) + 1) / (len(draws) + 1))
    return BootstrapDifference(whole, pairs, Interval(float(low), float(high)), p_value)


# --- a setting against its baseline ----------------------------------------------------------------


def compare(setting: Sequence[RunScore], baseline: Sequence[RunScore],
            bootstrap: PairedBootstrap | None = None) -> Comparison:
    """Both intervals over the seeds the two settings share (see the module doc)."""
    bootstrap = bootstrap or PairedBootstrap()
    mine = {run.seed: run for run in setting}
    theirs = {run.seed: run for run in baseline}
    accuracy = seed_difference({s: r.accuracy for s, r in mine.items()},
                               {s: r.accuracy for s, r in theirs.items()})
    macro_f1 = seed_difference({s: r.macro_f1 for s, r in mine.items()},
                               {s: r.macro_f1 for s, r in theirs.items()})
    seeds = sorted(set(mine) & set(theirs))
    pairs = [(mine[s].predictions, theirs[s].predictions) for s in seeds]
    if not seeds:
        missing = "no seed in common"
    elif any(a is None or b is None for a, b in pairs):
        missing = "no stored test predictions"
    elif len({p.test_rows for pair in pairs for p in pair}) != 1:
        missing = "runs tested on different rows"
    else:
        boot_accuracy, boot_f1 = bootstrap.compare([a for a, _ in pairs], [b for _, b in pairs])
        return Comparison(accuracy, macro_f1, boot_accuracy, boot_f1)
    return Comparison(accuracy, macro_f1, None, None, missing)


# --- how a difference reads in a table -----------------------------------------------------------


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def seed_cell(difference: SeedDifference | None) -> str:
    """`+1.2 [-0.3, +2.7]`, `+1.2 *` when the interval excludes 0, `+1.2 (1 seed)`, `n/a`."""
    if difference is None:
        return "n/a"
    if difference.interval is None:
        return f"{_points(difference.mean)} (1 seed)"
    return _with_interval(difference.mean, difference.interval)


def bootstrap_cell(difference: BootstrapDifference | None) -> str:
    return "n/a" if difference is None else _with_interval(difference.mean, difference.interval)


def _with_interval(mean: float, interval: Interval) -> str:
    mark = " *" if interval.excludes_zero else ""
    return f"{_points(mean)} [{_points(interval.low)}, {_points(interval.high)}]{mark}"


def p_value_cell(difference: BootstrapDifference | None) -> str:
    if difference is None:
        return "n/a"
    return "<0.001" if difference.p_value < 0.001 else f"{difference.p_value:.3f}"
