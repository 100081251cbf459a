"""Typed events the trainer publishes: what a UI, a log or the run store needs to draw a run.

Each event carries a `kind` and serialises to one JSON line (`metrics.jsonl`), and
`event_from_dict` reads it back, so a monitor can follow a run from disk as well as live.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from lcl_tui.run_state import RunState


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass
class RunStarted(Event):
    kind: ClassVar[str] = "started"
    run_id: str
    label_names: list[str]
    total_steps: int
    device: str
    train_size: int
    validation_size: int
    test_size: int
    objective: str
    time: float
    # Set when a run continues from a checkpoint: later events replace those past this step.
    resumed_from_step: int | None = None
    # Processes training together (data parallel); runs logged before it existed read as 1.
    world_size: int = 1


@dataclass
class StepEvent(Event):
    kind: ClassVar[str] = "step"
    step: int
    total_steps: int
    epoch: float
    loss: float
    # Every term of the objective by name: ce, weight_ce, contrastive (what applies).
    components: dict[str, float]
    lr: float
    examples_per_second: float
    elapsed_seconds: float
    stage: str = "train"
    # The share of this step's training examples the classifier got right, from the logits
    # the step computed anyway (None where no classifier trains: SCL's contrastive stage).
    accuracy: float | None = None


@dataclass
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalEvent(Event):
    kind: ClassVar[str] = "eval"
    step: int
    epoch: float
    split: str  # "validation" or "test"
    accuracy: float
    macro_f1: float
    loss: float
    per_class: list[ClassMetrics]
    # confusion[true][predicted], counts, in label_names order.
    confusion: list[list[int]]
    label_names: list[str]
    is_best: bool = False
    # How many examples were evaluated (None in runs logged before it was recorded).
    examples: int | None = None
    # False for the evaluations between epoch ends (lcl_tui.evaluation.EvaluationSchedule):
    # drawn on the curves, on a fixed subsample of a large validation split, but they neither
    # select the best checkpoint nor count for patience.
    selects: bool = True
    # Wall-clock seconds the evaluation took (its share of the run's time).
    seconds: float | None = None
    # What the model thinks is close (lcl_tui.affinity), absent in older runs:
    # affinity[true][c], the mean softmax of `affinity_source` ("weighting": LCL's weighting
    # network; "classifier") over the examples of each true class, rows summing to 1;
    # centroid_similarity[a][b], the cosine similarity of the class centroids of the
    # embeddings; projection, [x, y, true label index] per example on the first two
    # principal components of the embeddings.
    affinity_source: str | None = None
    affinity: list[list[float]] | None = None
    centroid_similarity: list[list[float]] | None = None
    projection: list[list[float]] | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EvalEvent:
        raw = dict(raw)
        raw["per_class"] = [ClassMetrics(**row) for row in raw["per_class"]]
        return cls(**raw)


@dataclass
class CheckpointSaved(Event):
    kind: ClassVar[str] = "checkpoint"
    step: int
    path: str
    best: bool


@dataclass
class RunFinished(Event):
    kind: ClassVar[str] = "finished"
    status: RunState  # completed, stopped or failed
    step: int
    elapsed_seconds: float
    best_step: int | None = None
    best_validation_accuracy: float | None = None
    test_accuracy: float | None = None
    test_macro_f1: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        self.status = RunState(self.status)  # a plain string when read back from JSON


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (RunStarted, StepEvent, EvalEvent, CheckpointSaved, RunFinished)
}

Subscriber = Callable[[Event], None]


def event_from_dict(raw: dict[str, Any]) -> Event:
    raw = dict(raw)
    kind = raw.pop("kind", None)
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    if cls is EvalEvent:
        return EvalEvent.from_dict(raw)
    return cls(**raw)


@dataclass
class RunSnapshot:
    """The whole state needed to draw a run, folded from its events.

    A UI keeps one per run and redraws from it on a timer, so merged or dropped
    messages never lose points.
    """

    run_id: str = ""
    label_names: list[str] = field(default_factory=list)
    total_steps: int = 0
    device: str = ""
    objective: str = ""
    steps: list[StepEvent] = field(default_factory=list)
    evals: list[EvalEvent] = field(default_factory=list)
    finished: RunFinished | None = None

    def apply(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if event.resumed_from_step is not None:
                # Steps logged after the checkpoint were lost with the process; they are redone.
                self.steps = [s for s in self.steps if s.step <= event.resumed_from_step]
                self.evals = [e for e in self.evals if e.step <= event.resumed_from_step and e.split != "test"]
                self.finished = None
            self.run_id = event.run_id
            self.label_names = list(event.label_names)
            self.total_steps = event.total_steps
            self.device = event.device
            self.objective = event.objective
        elif isinstance(event, StepEvent):
            self.steps.append(event)
            self.total_steps = event.total_steps
        elif isinstance(event, EvalEvent):
            self.evals.append(event)
        elif isinstance(event, RunFinished):
            self.finished = event

    @property
    def last_step(self) -> StepEvent | None:
        return self.steps[-1] if self.steps else None

    @property
    def validation_evals(self) -> list[EvalEvent]:
        return [e for e in self.evals if e.split == "validation"]

    @property
    def latest_eval(self) -> EvalEvent | None:
        return self.evals[-1] if self.evals else None

    @property
    def best_validation(self) -> EvalEvent | None:
        """The best of the evaluations that select (those between epoch ends do not)."""
        vals = [e for e in self.validation_evals if e.selects]
        return max(vals, key=lambda e: e.accuracy) if vals else None

    @property
    def test_eval(self) -> EvalEvent | None:
        tests = [e for e in self.evals if e.split == "test"]
        return tests[-1] if tests else None
