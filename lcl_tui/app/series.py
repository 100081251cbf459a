"""Turn a RunSnapshot into the short series and numbers the monitor draws.

Pure functions, no Textual: they are unit-tested and shared by live and on-disk runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from lcl_tui.events import RunSnapshot

# A plot a few dozen cells wide cannot show more points than this; more only costs time.
MAX_PLOT_POINTS = 200


def thin(xs: list[float], ys: list[float], max_points: int = MAX_PLOT_POINTS) -> tuple[list[float], list[float]]:
    """At most `max_points` points: bucket means, so noise is smoothed rather than aliased.

    The last point is kept exactly, so the newest value is always on the curve.
    """
    count = len(xs)
    if count <= max_points or max_points < 2:
        return list(xs), list(ys)
    buckets = max_points - 1
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        start = b * (count - 1) // buckets
        end = max(start + 1, (b + 1) * (count - 1) // buckets)
        out_x.append(sum(xs[start:end]) / (end - start))
        out_y.append(sum(ys[start:end]) / (end - start))
    out_x.append(xs[-1])
    out_y.append(ys[-1])
    return out_x, out_y


def envelope(xs: list[float], ys: list[float], max_points: int = MAX_PLOT_POINTS) -> tuple[list[float], list[float]]:
    """The raw points' spread in at most `max_points` buckets: each bucket's lowest and
    highest value (bucket means, as `thin` takes, would hide the noise they are drawn for)."""
    count = len(xs)
    if count <= max_points or max_points < 2:
        return list(xs), list(ys)
    buckets = max_points // 2
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        start, end = b * count // buckets, max(b * count // buckets + 1, (b + 1) * count // buckets)
        middle = xs[(start + end - 1) // 2]
        out_x += [middle, middle]
        out_y += [min(ys[start:end]), max(ys[start:end])]
    return out_x, out_y


# The smoothing's span in steps: an exponential moving average over about this many steps.
SMOOTHING_SPAN = 20
Curve = tuple[list[float], list[float]]


def ema(values: list[float], span: int = SMOOTHING_SPAN) -> list[float]:
    """Exponential moving average, bias-corrected so the first values are not pulled to 0."""
    weight = 1.0 - 2.0 / (span + 1)
    out, average, correction = [], 0.0, 1.0
    for value in values:
        average = weight * average + (1.0 - weight) * value
        correction *= weight
        out.append(average / (1.0 - correction))
    return out


@dataclass(frozen=True)
class CurveSet:
    """A chart's curves: drawn bright, and the raw points faint behind the smoothed ones."""

    curves: dict[str, Curve]
    faint: dict[str, Curve]


def loss_terms(snapshot: RunSnapshot) -> list[str]:
    """`total` and every term of the objective that any step logged, in first-seen order."""
    names = ["total"]
    for event in snapshot.steps:
        for name in event.components:
            if name not in names:
                names.append(name)
    return names


def _points(snapshot: RunSnapshot, term: str) -> Curve:
    if term == "total":
        return [float(e.step) for e in snapshot.steps], [e.loss for e in snapshot.steps]
    pairs = [(float(e.step), e.components[term]) for e in snapshot.steps if term in e.components]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _smoothed(name: str, xs: list[float], ys: list[float], max_points: int, smooth: bool) -> CurveSet:
    """`name`: the smoothed curve (or, unsmoothed, the raw one); the raw points go faint behind."""
    if not xs:
        return CurveSet({}, {})
    if not smooth:
        return CurveSet({name: thin(xs, ys, max_points)}, {})
    return CurveSet({name: thin(xs, ema(ys), max_points)}, {"raw": envelope(xs, ys, max_points)})


def loss_curve(snapshot: RunSnapshot, term: str = "total", max_points: int = MAX_PLOT_POINTS,
               smooth: bool = True) -> CurveSet:
    """One term of the loss (or the total) on its own: each has its own scale."""
    xs, ys = _points(snapshot, term)
    return _smoothed("smoothed" if smooth else "raw", xs, ys, max_points, smooth)


def training_accuracy_points(snapshot: RunSnapshot) -> Curve:
    """The steps' own batch accuracy (none where no classifier trains: SCL's first stage)."""
    pairs = [(float(e.step), e.accuracy) for e in snapshot.steps if e.accuracy is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def training_accuracy(snapshot: RunSnapshot) -> float | None:
    """The running training accuracy: the smoothed batch accuracy at the latest step."""
    _, ys = training_accuracy_points(snapshot)
    return ema(ys)[-1] if ys else None


def validation_series(snapshot: RunSnapshot) -> dict[str, Curve]:
    """Validation accuracy ("val") and macro-F1 ("F1") by step (evaluations are few: no thinning)."""
    evals = snapshot.validation_evals
    if not evals:
        return {}
    xs = [float(e.step) for e in evals]
    return {
        "val": (xs, [e.accuracy for e in evals]),
        "F1": (xs, [e.macro_f1 for e in evals]),
    }


def accuracy_curves(snapshot: RunSnapshot, max_points: int = MAX_PLOT_POINTS, smooth: bool = True) -> CurveSet:
    """Training accuracy (smoothed, raw faint behind) beside validation accuracy and macro-F1."""
    train = _smoothed("train", *training_accuracy_points(snapshot), max_points, smooth)
    return CurveSet({**train.curves, **validation_series(snapshot)}, train.faint)


@dataclass
class Progress:
    step: int
    total_steps: int
    fraction: float
    elapsed_seconds: float
    eta_seconds: float | None
    lr: float | None
    examples_per_second: float | None
    epoch: float | None
    stage: str | None


def progress(snapshot: RunSnapshot) -> Progress:
    """Where the run stands; the ETA comes from the run's own clock, not the wall clock."""
    last = snapshot.last_step
    total = snapshot.total_steps or (last.total_steps if last else 0)
    if last is None:
        return Progress(0, total, 0.0, 0.0, None, None, None, None, None)
    fraction = min(1.0, last.step / total) if total else 0.0
    eta = None
    if snapshot.finished is None and last.step > 0 and total:
        eta = last.elapsed_seconds / last.step * max(0, total - last.step)
    elapsed = snapshot.finished.elapsed_seconds if snapshot.finished else last.elapsed_seconds
    return Progress(last.step, total, fraction, elapsed, eta, last.lr,
                    last.examples_per_second, last.epoch, last.stage)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"

