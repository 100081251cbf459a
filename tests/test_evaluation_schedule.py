"""When validation runs, what each evaluation carries (affinity, centroid similarity, the
embedding map), and what selects the best checkpoint."""

import json
import math
import threading

import pytest
import torch

from lcl_tui.affinity import (
    PROJECTION_POINTS,
    centroid_similarity,
    class_affinity,
    projection,
)
from lcl_tui.evaluation import (
    TARGET_EVALUATIONS,
    WATCH_MAX_EXAMPLES,
    WATCH_MIN_EXAMPLES,
    Due,
    EvaluationSchedule,
    watch_rows,
)
from lcl_tui.events import EvalEvent, RunSnapshot, StepEvent, event_from_dict
from lcl_tui.resume import resume_training
from lcl_tui.training import train


# --- the schedule ---------------------------------------------------------------------------------
def evaluations(total: int, per_epoch: int, every: int | None = None) -> list[int]:
    """Every step followed by an evaluation: the schedule's, each epoch end, the last step."""
    schedule = EvaluationSchedule.for_run(every, total, per_epoch)
    points = {step for step in range(1, total + 1) if schedule.due(step) is not None}
    points |= {step for step in range(per_epoch, total + 1, per_epoch)} | {total}
    return sorted(points)


@pytest.mark.parametrize("total,per_epoch", [
    (150, 75),  # the quickstart: 2 epochs
    (100, 100), (37, 37), (2000, 2000), (300, 100), (500, 100), (1000, 100), (60, 7), (12, 3),
    (150, 1000),  # max_steps inside the first epoch
    (150, 100), (400, 50),
])
def test_about_nine_evaluations_whatever_the_length(total, per_epoch):
    points = evaluations(total, per_epoch)
    epochs = math.ceil(total / per_epoch)
    assert 8 <= len(points) <= max(10, epochs)
    assert points[-1] == total


def test_six_or_seven_epochs_are_evaluated_at_their_ends_only():
    # One more evaluation inside each epoch would make 12 or 14: too many.
    assert evaluations(600, 100) == [100, 200, 300, 400, 500, 600]
    assert len(evaluations(2000, 100)) == 20  # many epochs: each epoch end, as before


def test_the_quickstart_is_evaluated_ten_times_and_selects_at_epoch_ends_only():
    schedule = EvaluationSchedule.for_run(None, 150, 75)
    watch = [step for step in range(1, 151) if schedule.due(step) is Due.WATCH]
    assert watch == [15, 30, 45, 60, 90, 105, 120, 135]  # evenly inside each epoch
    assert not any(schedule.due(step) is Due.SELECT for step in range(1, 151))
    assert schedule.due(150) is None  # the last step is the end of the stage's evaluation


def test_an_explicit_interval_wins_and_selects():
    schedule = EvaluationSchedule.for_run(5, 40, 10)
    assert [step for step in range(1, 41) if schedule.due(step)] == [5, 10, 15, 20, 25, 30, 35]
    assert {schedule.due(step) for step in (5, 10)} == {Due.SELECT}


def test_watch_rows_are_a_fixed_stratified_subsample():
    labels = [i % 5 for i in range(3000)]
    rows = watch_rows(labels, 5, trained_examples=100_000, seed=13)
    assert len(rows) == WATCH_MAX_EXAMPLES and rows == watch_rows(labels, 5, 100_000, 13)
    counts = [sum(labels[r] == c for r in rows) for c in range(5)]
    assert max(counts) - min(counts) <= 1
    # A short run evaluates fewer rows between epoch ends, never fewer than the minimum.
    assert len(watch_rows(labels, 5, trained_examples=9 * 100, seed=13)) == 100
    assert len(watch_rows(labels, 5, trained_examples=10, seed=13)) == WATCH_MIN_EXAMPLES
    assert watch_rows(labels[:40], 5, 100_000, 13) == list(range(40))  # a small split: all of it
    assert TARGET_EVALUATIONS * WATCH_MAX_EXAMPLES < 10_000


# --- what the model thinks is close --------------------------------------------------------------
def test_affinity_rows_are_the_mean_softmax_of_each_true_class():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 2.0, 0.0], [4.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1, 0, 1])
    affinity = class_affinity(logits, labels, 3)
    expected = (torch.softmax(logits[0], -1) + torch.softmax(logits[2], -1)) / 2
    assert affinity[0] == pytest.approx(expected.tolist(), abs=1e-4)
    assert [sum(row) for row in affinity[:2]] == pytest.approx([1.0, 1.0], abs=1e-3)
    assert affinity[2] == [0.0, 0.0, 0.0]  # no examples of class 2


def test_centroid_similarity_is_the_cosine_of_class_means():
    features = torch.tensor([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 2])
    similarity = centroid_similarity(features, labels, 3)
    assert [similarity[i][i] for i in range(3)] == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert similarity[0][2] == pytest.approx(-similarity[0][0] * 0.995, abs=1e-2)  # opposite
    assert similarity[0][1] == similarity[1][0] and similarity[0][1] == pytest.approx(0.0995, abs=1e-3)


def test_projection_is_capped_rounded_and_does_not_flip():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(3000, 8, generator=generator)
    features[:, 0] *= 5  # the first axis carries most of the variance
    labels = torch.arange(3000) % 4
    points = projection(features, labels)
    assert len(points) == PROJECTION_POINTS
    assert all(len(p) == 3 and p[2] in (0, 1, 2, 3) for p in points)
    assert all(round(p[0], 4) == p[0] for p in points)
    # A model that changed a little between evaluations gives nearly the same map, not a mirror.
    nudged = projection(features + 1e-3 * torch.randn(3000, 8, generator=generator), labels)
    assert max(abs(a - b) for p, q in zip(points, nudged) for a, b in zip(p[:2], q[:2])) < 0.05
    assert projection(features[:1], labels[:1]) == []


# --- a tiny run -------------------------------------------------------------------------------------
def validation_events(events):
    return [e for e in events if isinstance(e, EvalEvent) and e.split == "validation"]


def test_a_run_gets_about_nine_evaluations_each_with_what_the_model_thinks_is_close(tiny):
    events = []
    result = train(tiny(loss__objective="lcl", train__epochs=2), subscribers=[events.append])
    assert result.status == "completed"
    validation = validation_events(events)
    assert 8 <= len(validation) <= 10
    selecting = [e for e in validation if e.selects]
    assert len(selecting) == 2  # the two epoch ends; the last is the run's last step
    watched = [e for e in validation if not e.selects]
    assert watched and not any(e.is_best for e in watched)
    assert all(e.examples and e.seconds is not None for e in validation)
    labels = events[0].label_names
    for event in validation + [e for e in events if isinstance(e, EvalEvent) and e.split == "test"]:
        assert event.affinity_source == "weighting"  # LCL: the weighting network's view
        assert len(event.affinity) == len(labels) and all(len(row) == len(labels) for row in event.affinity)
        assert [sum(row) for row in event.affinity] == pytest.approx([1.0] * len(labels), abs=1e-3)
        assert len(event.centroid_similarity) == len(labels)
        assert 0 < len(event.projection) <= min(PROJECTION_POINTS, event.examples)
    # The best is chosen among the selecting evaluations only, and the test runs on it.
    best = max(selecting, key=lambda e: e.accuracy)
    assert events[-1].best_step == best.step
    # The same matrices come back from metrics.jsonl.
    reread = validation_events(result.run.read_events())
    assert [e.affinity for e in reread] == [e.affinity for e in validation]
    assert [e.selects for e in reread] == [e.selects for e in validation]


def test_ce_affinity_comes_from_the_classifier(tiny):
    events = []
    train(tiny(loss__objective="ce", train__epochs=1, train__max_steps=4), subscribers=[events.append])
    last = validation_events(events)[-1]
    assert last.affinity_source == "classifier" and last.affinity is not None


def test_patience_counts_the_selecting_evaluations_only(tiny):
    events = []
    train(tiny(loss__objective="ce", train__epochs=3, train__patience=1, optim__lr=1e-9),
          subscribers=[events.append])
    selecting = [e for e in validation_events(events) if e.selects]
    # A learning rate too small to change anything: the second epoch end is no better, and
    # patience 1 ends the run there, whatever the evaluations between them said.
    assert len(selecting) == 2
    assert any(not e.selects for e in validation_events(events))


def test_an_old_evaluation_line_without_the_new_fields_still_loads():
    line = {"kind": "eval", "step": 5, "epoch": 1.0, "split": "validation", "accuracy": 0.5,
            "macro_f1": 0.4, "loss": 1.2, "per_class": [], "confusion": [[1, 1], [0, 2]],
            "label_names": ["a", "b"], "is_best": True}
    event = event_from_dict(json.loads(json.dumps(line)))
    assert event.affinity is None and event.projection is None and event.selects
    snapshot = RunSnapshot()
    snapshot.apply(event)
    assert snapshot.best_validation is event


def test_a_resumed_run_keeps_its_clock(tiny):
    stop = threading.Event()
    first = []

    def stop_at_six(event):
        first.append(event)
        if isinstance(event, StepEvent) and event.step == 6:
            stop.set()

    config = tiny(loss__objective="ce", train__epochs=3)
    result = train(config, stop=stop, subscribers=[stop_at_six])
    assert result.status == "stopped"
    clock_at_stop = [e for e in first if isinstance(e, StepEvent)][-1].elapsed_seconds
    assert clock_at_stop > 0
    resumed = []
    resume_training(str(result.run.path), config.output.runs_dir, subscribers=[resumed.append])
    steps = [e for e in resumed if isinstance(e, StepEvent)]
    assert steps[0].step == 7
    # Without the run's own clock it restarted at zero: "elapsed 00:02" at step 41 of 80.
    assert steps[0].elapsed_seconds >= clock_at_stop
    assert resumed[-1].elapsed_seconds >= steps[-1].elapsed_seconds
