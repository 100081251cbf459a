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


def loss_series(snapshot: RunSnapshot, max_points: int = MAX_PLOT_POINTS) -> dict[str, tuple[list[float], list[float]]]:
    """`total` and every loss component by name, each as thinned (steps, values)."""
    steps = snapshot.steps
    if not steps:
        return {}
    names: list[str] = []
    for event in steps:
        for name in event.components:
            if name not in names:
                names.append(name)
    xs = [float(e.step) for e in steps]
    series = {"total": thin(xs, [e.loss for e in steps], max_points)}
    for name in names:
        pairs = [(float(e.step), e.components[name]) for e in steps if name in e.components]
        series[name] = thin([p[0] for p in pairs], [p[1] for p in pairs], max_points)
    return series


def validation_series(snapshot: RunSnapshot) -> dict[str, tuple[list[float], list[float]]]:
    """Validation accuracy and macro-F1 by step (evaluations are few: no thinning)."""
    evals = snapshot.validation_evals
    if not evals:
        return {}
    xs = [float(e.step) for e in evals]
    return {
        "accuracy": (xs, [e.accuracy for e in evals]),
        "macro-F1": (xs, [e.macro_f1 for e in evals]),
    }


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

