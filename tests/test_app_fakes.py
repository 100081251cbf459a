"""Fixtures for the app tests: fixed run folders and a fast fake trainer (no torch).

The real engine (lcl_tui.testing's tiny model) drives the end-to-end app tests; these
fakes make the views deterministic for snapshots and quick for UI mechanics.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.css.query import NoMatches

from lcl_tui.config import RunConfig
from lcl_tui.events import (
    CheckpointSaved,
    ClassMetrics,
    EvalEvent,
    RunFinished,
    RunStarted,
    StepEvent,
)
from lcl_tui.runstore import Run, RunStore

LABELS = ["joy", "sadness", "anger", "fear", "surprise"]
FIXED_START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def fake_confusion(step: int, labels: list[str]) -> list[list[int]]:
    n = len(labels)
    rows = []
    for i in range(n):
        row = [0] * n
        row[i] = 10 + step // 10 + i
        row[(i + 1) % n] = max(0, 6 - step // 20)
        row[(i + 2) % n] = (i % 3)
        rows.append(row)
    return rows


def fake_eval(step: int, labels: list[str], split: str = "validation", best: bool = False) -> EvalEvent:
    confusion = fake_confusion(step, labels)
    per_class = []
    for i, label in enumerate(labels):
        support = sum(confusion[i])
        predicted = sum(row[i] for row in confusion)
        recall = confusion[i][i] / support
        precision = confusion[i][i] / predicted if predicted else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(ClassMetrics(label, precision, recall, f1, support))
    total = sum(map(sum, confusion))
    accuracy = sum(confusion[i][i] for i in range(len(labels))) / total
    macro = sum(c.f1 for c in per_class) / len(per_class)
    return EvalEvent(step=step, epoch=step / 40, split=split, accuracy=accuracy, macro_f1=macro,
                     loss=1.0 / (1 + step / 50), per_class=per_class, confusion=confusion,
                     label_names=list(labels), is_best=best, examples=total, seconds=0.5,
                     affinity_source="weighting", affinity=fake_affinity(step, len(labels)),
                     centroid_similarity=fake_centroid_similarity(step, len(labels)),
                     projection=fake_projection(step, len(labels)))


def fake_affinity(step: int, n: int) -> list[list[float]]:
    """Rows summing to 1, most on the diagonal, neighbours next: closer as training goes on."""
    rows = []
    for i in range(n):
        weights = [1.0 / (1 + abs(i - j)) ** (1 + step / 60) for j in range(n)]
        weights[i] *= 2
        total = sum(weights)
        rows.append([round(w / total, 4) for w in weights])
    return rows


def fake_centroid_similarity(step: int, n: int) -> list[list[float]]:
    return [[1.0 if i == j else round(0.9 - 0.15 * abs(i - j) - step / 600, 4) for j in range(n)]
            for i in range(n)]


def fake_projection(step: int, n: int, per_class: int = 12) -> list[list[float]]:
    """Classes on a circle, tighter as training goes on; no randomness."""
    spread = 0.6 / (1 + step / 40)
    points = []
    for label in range(n):
        angle = 2 * math.pi * label / n
        for k in range(per_class):
            wobble = spread * math.sin(k * 1.7 + label)
            points.append([round(math.cos(angle) + wobble, 4), round(math.sin(angle) + spread * math.cos(k * 2.3), 4),
                           label])
    return points


def fake_step(step: int, total: int) -> StepEvent:
    ce = 1.6 * math.exp(-step / 60) + 0.1 + 0.05 * math.sin(step)
    contrastive = 2.0 * math.exp(-step / 80) + 0.3
    weight_ce = 1.2 * math.exp(-step / 50) + 0.05
    accuracy = min(1.0, 0.25 + 0.65 * (1 - math.exp(-step / 40)) + 0.12 * math.sin(step * 2.1))
    return StepEvent(step=step, total_steps=total, epoch=step / 40, loss=0.5 * ce + 0.5 * contrastive + weight_ce,
                     components={"ce": ce, "weight_ce": weight_ce, "contrastive": contrastive},
                     lr=1e-4 * (1 - step / total), examples_per_second=120.0, elapsed_seconds=step * 0.5,
                     accuracy=round(max(0.0, accuracy), 4))


def fake_events(total: int = 120, upto: int | None = None, finished: bool = True, labels=LABELS,
                objective: str = "lcl"):
    upto = total if upto is None else upto
    yield RunStarted(run_id="", label_names=list(labels), total_steps=total, device="cpu",
                     train_size=800, validation_size=100, test_size=200, objective=objective,
                     time=FIXED_START)
    best = 0.0
    for step in range(1, upto + 1):
        yield fake_step(step, total)
        if step % 20 == 0:
            ev = fake_eval(step, labels)
            ev.is_best = ev.accuracy > best
            best = max(best, ev.accuracy)
            yield ev
    if finished:
        yield fake_eval(upto, labels, split="test")
        yield RunFinished(status="completed", step=upto, elapsed_seconds=upto * 0.5, best_step=upto,
                          best_validation_accuracy=best)


def write_fake_run(runs_dir: Path, run_id: str, *, total: int = 120, upto: int | None = None,
                   status: str = "completed", objective: str = "lcl", dataset: str = "movie-snippets-5",
                   started: float = FIXED_START, labels: list[str] = LABELS) -> Run:
    """A run folder as the trainer leaves it, with fixed times (for snapshots)."""
    config = RunConfig(name=run_id).replace(**{"loss.objective": objective, "data.dataset": dataset,
                                               "output.run_name": run_id, "output.runs_dir": str(runs_dir)})
    run = Run(Path(runs_dir) / run_id)
    run.path.mkdir(parents=True)
    run.config_path.write_text(config.to_toml())
    for event in fake_events(total, upto, finished=status != "running", objective=objective, labels=labels):
        if isinstance(event, RunStarted):
            event.run_id = run_id
        run.append_event(event)
    import os
    import socket

    if status != "running":
        write_fake_checkpoint(run, upto if upto is not None else total)
    run.status_path.write_text(json.dumps({
        "status": status, "pid": os.getpid(), "host": socket.gethostname(),
        "started": started, "updated": started + 60, "error": None,
    }))
    return run


def write_fake_checkpoint(run: Run, step: int) -> Path:
    """A checkpoint folder the run store accepts (FakePredictor never reads it)."""
    folder = run.checkpoint_dir(step)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lcl_tui.json").write_text(json.dumps({"label_names": LABELS}))
    run.set_pointer("best", folder)
    run.set_pointer("last", folder)
    return folder


@dataclass
class FakeResult:
    run: Run
    status: str
    test: EvalEvent | None = None


class FakeTrainer:
    """Stands in for lcl_tui.training.train: same arguments, events and run folder."""

    def __init__(self, steps: int = 40, step_seconds: float = 0.01, fail_with: Exception | None = None):
        self.steps = steps
        self.step_seconds = step_seconds
        self.fail_with = fail_with
        self.started = threading.Event()
        self.calls = 0

    def __call__(self, config: RunConfig, *, store=None, stop=None, subscribers=(), run=None, threads=None):
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        store = store or RunStore(config.output.runs_dir)
        run = run or store.create_run(config)
        stop = stop or threading.Event()

        def publish(event):
            run.append_event(event)
            for subscriber in subscribers:
                subscriber(event)

        publish(RunStarted(run_id=run.run_id, label_names=list(LABELS), total_steps=self.steps,
                           device="cpu", train_size=800, validation_size=100, test_size=200,
                           objective=config.loss.objective, time=time.time()))
        self.started.set()
        status = "completed"
        step = 0
        for step in range(1, self.steps + 1):
            if stop.is_set():
                status = "stopped"
                step -= 1
                break
            time.sleep(self.step_seconds)
            publish(fake_step(step, self.steps))
            if step % 10 == 0:
                publish(fake_eval(step, LABELS, best=True))
                folder = write_fake_checkpoint(run, step)
                publish(CheckpointSaved(step=step, path=str(folder), best=True))
        publish(RunFinished(status=status, step=step, elapsed_seconds=step * self.step_seconds))
        run.write_status(status)
        return FakeResult(run, status)


def fake_datasets():
    @dataclass
    class Info:
        name: str
        description: str
        num_labels: int
        size: int
        source: str

    return [
        Info("movie-snippets-5", "Movie review snippets, 5 sentiment grades", 5, 2000, "packaged"),
        Info("emotions-6", "Tweets by emotion", 6, 20000, "hub:dair-ai/emotion"),
    ]


class FakePredictor:
    label_names = LABELS
    max_length = 64

    def __init__(self, folder=None):
        self.folder = folder

    def token_count(self, text: str) -> int:
        return len(text.split()) + 2  # a word a token, and [CLS] [SEP]

    def predict(self, texts, top_k=5):
        out = []
        for text in texts:
            scores = [(label, (len(text) * (i + 3)) % 17 + 1.0) for i, label in enumerate(LABELS)]
            total = sum(s for _, s in scores)
            ranked = sorted(((l, s / total) for l, s in scores), key=lambda p: -p[1])
            out.append(ranked[:top_k])
        return out


async def wait_until(pilot, condition, timeout: float = 30.0, step: float = 0.05) -> None:
    """Let the app run until `condition()` holds (training runs in real threads).

    A condition that raises AttributeError or NoMatches counts as false: the hidden panes
    are mounted just after the first frame, so `app.main_screen.runs_pane.table` may not be
    there yet when a test begins, and a screen being pushed may not be mounted yet.
    """
    deadline = time.monotonic() + timeout

    def holds() -> bool:
        try:
            return bool(condition())
        except (AttributeError, NoMatches):
            return False

    while not holds():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(step)


def screen_text(app) -> str:
    """The screen as plain text, for asserting on what a user would read."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


def build_app(tmp_path, trainer=None, **kwargs):
    """The app with fakes for everything heavy; a test overrides what it exercises."""
    from lcl_tui.app.app import make_app

    kwargs.setdefault("config", RunConfig())
    kwargs.setdefault("runs_dir", tmp_path / "runs")
    kwargs.setdefault("list_datasets", fake_datasets)
    kwargs.setdefault("load_predictor", FakePredictor)
    kwargs.setdefault("warm_up", False)
    return make_app(train_fn=trainer or FakeTrainer(), **kwargs)


async def type_into(pilot, widget, text: str) -> None:
    """Focus a field and replace its text by typing, as a user would."""
    widget.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *text)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """The tiny random BERT and synthetic CSV, written once for every engine-backed app test."""
    from lcl_tui.testing import tiny_config

    root = tmp_path_factory.mktemp("tiny-model")
    tiny_config(root)
    return root


def tiny_app_config(tiny_root, tmp_path, **overrides):
    """A tiny-model config training in a few seconds, with runs under this test's folder."""
    from lcl_tui.testing import tiny_config

    overrides = {"train__epochs": 2, **overrides, "output__runs_dir": str(tmp_path / "runs")}
    return tiny_config(tiny_root, **overrides)
