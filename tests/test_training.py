"""End to end on a tiny random-weight BERT: each objective learns, events and run folder are right."""

import json
import threading

import pytest
import torch
from transformers import AutoModel

from lcl_tui.events import CheckpointSaved, EvalEvent, RunFinished, RunStarted, StepEvent
from lcl_tui.predict import Predictor
from lcl_tui.metrics import confusion_matrix
from lcl_tui.runstore import RunStore
from lcl_tui.optimization import no_decay
from lcl_tui.stored_predictions import digest_rows, load_test_predictions
from lcl_tui.training import train


@pytest.mark.parametrize(
    ("objective", "weighting"),
    [("ce", "shared"), ("scl", "shared"), ("scl-two-stage", "shared"), ("lcl", "shared"), ("lcl", "separate")],
)
def test_each_objective_learns_the_synthetic_task(tiny, objective, weighting):
    config = tiny(loss__objective=objective, model__weighting=weighting)
    events = []
    result = train(config, subscribers=[events.append])
    assert result.status == "completed", result.error
    # Four balanced classes: chance is 0.25.
    assert result.test is not None and result.test.accuracy >= 0.55, result.test
    steps = [e for e in events if isinstance(e, StepEvent)]
    expected = {"ce": {"ce"}, "scl": {"ce", "contrastive"}, "lcl": {"ce", "weight_ce", "contrastive"}}
    if objective == "scl-two-stage":
        assert {e.stage for e in steps} == {"contrastive", "classifier"}
        assert set(steps[0].components) == {"contrastive"}
        # No classifier trains in the contrastive stage, so it has no training accuracy.
        assert all(e.accuracy is None for e in steps if e.stage == "contrastive")
        steps = [e for e in steps if e.stage == "classifier"]
    else:
        assert set(steps[-1].components) == expected[objective]
    assert [e.step for e in steps] == list(range(steps[0].step, steps[0].step + len(steps)))
    # Every step reports its batch's training accuracy, and the model learns as it goes.
    accuracies = [e.accuracy for e in steps]
    assert all(a is not None and 0.0 <= a <= 1.0 for a in accuracies)
    quarter = max(1, len(accuracies) // 4)
    assert sum(accuracies[-quarter:]) / quarter > sum(accuracies[:quarter]) / quarter


def test_events_and_run_folder(tiny):
    config = tiny(loss__objective="lcl", train__eval_every_steps=5)
    events = []
    result = train(config, subscribers=[events.append])
    run = result.run
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert events[0].label_names == ["anger", "fear", "joy", "sadness"]
    evals = [e for e in events if isinstance(e, EvalEvent)]
    validation = [e for e in evals if e.split == "validation"]
    assert len(validation) > config.train.epochs  # every 5 steps and every epoch
    test = [e for e in evals if e.split == "test"]
    assert len(test) == 1
    best = max(validation, key=lambda e: e.accuracy)
    assert test[0].step == best.step == events[-1].best_step
    assert sum(map(sum, test[0].confusion)) == events[0].test_size
    assert [row.label for row in test[0].per_class] == events[0].label_names
    assert any(isinstance(e, CheckpointSaved) for e in events)
    # The same events, read back from disk.
    assert [type(e) for e in run.read_events()] == [type(e) for e in events]
    assert run.read_status().status == "completed"
    assert run.load_config() == config
    split = run.load_split()
    assert len(split.test) == events[0].test_size
    # The best checkpoint is a Hugging Face folder that AutoModel loads, with label names.
    folder = run.best_checkpoint
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))
    encoder = AutoModel.from_pretrained(folder)
    assert encoder.config.id2label[0] == "anger"
    meta = json.loads((folder / "lcl_tui.json").read_text())
    assert meta["label_names"] == events[0].label_names
    # Only the best (and last) checkpoints are kept.
    assert len(list(run.checkpoints_dir.iterdir())) <= 2


def test_predictor_reproduces_the_test_accuracy(tiny):
    result = train(tiny(loss__objective="ce"))
    predictor = Predictor.from_run(result.run)
    split = result.run.load_split()
    predictions = predictor.predict(split.test.texts, top_k=2)
    correct = sum(ranked[0][0] == split.label_names[y] for ranked, y in zip(predictions, split.test.labels))
    assert correct / len(split.test) == pytest.approx(result.test.accuracy)
    assert all(len(r) == 2 and r[0][1] >= r[1][1] for r in predictions)
    # The run kept its test predictions, in split.json's test order, for paired comparisons.
    stored = load_test_predictions(result.run.path)
    assert stored.labels == tuple(split.test.labels) and stored.label_names == tuple(split.label_names)
    assert [split.label_names[p] for p in stored.predictions] == [ranked[0][0] for ranked in predictions]
    assert confusion_matrix(stored.labels, stored.predictions, stored.num_labels) == result.test.confusion
    assert stored.test_rows == digest_rows(split.test.texts, split.test.labels)
    assert all(abs(sum(p for _, p in predictor.predict([t], top_k=4)[0]) - 1) < 1e-5 for t in split.test.texts[:3])
    # How long a text is before the cut to max_length: the prompt pane says when it was cut.
    long_text = " ".join(["happy"] * 3 * predictor.max_length)
    assert predictor.token_count(long_text) > predictor.max_length
    assert predictor.token_count("happy") <= predictor.max_length


def test_stop_signal_ends_the_run_within_a_step(tiny):
    stop = threading.Event()
    seen = []

    def stop_after_three(event):
        seen.append(event)
        if isinstance(event, StepEvent) and event.step == 3:
            stop.set()

    result = train(tiny(train__epochs=50), stop=stop, subscribers=[stop_after_three])
    assert result.status == "stopped"
    assert max(e.step for e in seen if isinstance(e, StepEvent)) == 3
    assert result.run.read_status().status == "stopped"
    assert seen[-1].status == "stopped"


def test_max_steps_and_seed_make_runs_repeatable(tiny):
    first = train(tiny(train__max_steps=6, loss__objective="scl"))
    second = train(tiny(train__max_steps=6, loss__objective="scl"))
    losses = [[e.loss for e in r.run.read_events() if isinstance(e, StepEvent)] for r in (first, second)]
    assert len(losses[0]) == 6
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    other = train(tiny(train__max_steps=6, loss__objective="scl", train__seed=7))
    assert [e.loss for e in other.run.read_events() if isinstance(e, StepEvent)] != pytest.approx(losses[0])


def test_gradient_accumulation_and_dropout_views(tiny):
    result = train(tiny(train__grad_accumulation=2, train__views="dropout", train__sampler="random",
                        loss__objective="scl"))
    assert result.status == "completed"
    steps = [e for e in result.run.read_events() if isinstance(e, StepEvent)]
    assert len(steps) == result.run.read_events()[0].total_steps


def test_nan_loss_fails_the_run_with_a_clear_status(tiny):
    # No weight decay: with it, lr x weight_decay >= 1 is refused as a config error first.
    result = train(tiny(optim__lr=1e30, optim__weight_decay=0.0, optim__grad_clip=0.0, loss__objective="ce",
                        train__epochs=3))
    assert result.status == "failed"
    assert "the loss became" in result.error and "optim.lr" in result.error
    assert result.run.read_status().status == "failed"


def test_a_broken_subscriber_does_not_stop_training(tiny):
    def broken(event):
        raise RuntimeError("display crashed")

    assert train(tiny(train__max_steps=2), subscribers=[broken]).status == "completed"


def test_no_weight_decay_on_bias_and_layernorm():
    assert no_decay("encoder.layer.0.attention.output.LayerNorm.weight")
    assert no_decay("classifier.dense.bias")
    assert not no_decay("encoder.layer.0.attention.self.query.weight")


def test_mean_pooling_excludes_special_tokens_and_padding():
    from lcl_tui.models import pool

    hidden = torch.arange(12, dtype=torch.float).reshape(1, 4, 3).repeat(2, 1, 1)
    attention = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    special = torch.tensor([[1, 0, 0, 1], [1, 0, 1, 1]])
    pooled = pool(hidden, attention, special, "mean")
    assert pooled[0].tolist() == hidden[0, 1:3].mean(0).tolist()
    assert pooled[1].tolist() == hidden[1, 1].tolist()
    assert pool(hidden, attention, special, "cls").tolist() == hidden[:, 0].tolist()


def test_runs_are_listed_and_found_by_id_prefix(tiny):
    result = train(tiny(train__max_steps=2, name="listed"))
    store = RunStore(result.run.path.parent)
    assert [r.run_id for r in store.runs()] == [result.run.run_id]
    assert store.open(result.run.run_id[:10]).path == result.run.path
    summary = store.runs()[0].summary()
    assert summary.status == "completed" and summary.objective == "lcl (shared)"


def test_bf16_autocast_trains(tiny):
    # The mixed-precision path, on the CPU here (CUDA picks bf16 or fp16 itself with `auto`).
    result = train(tiny(train__mixed_precision="bf16", loss__objective="lcl"))
    assert result.status == "completed" and result.test.accuracy >= 0.55


def test_head_learning_rate_applies_to_the_heads_only(tiny_model_dir):
    from lcl_tui.config import ModelConfig
    from lcl_tui.models import build_model
    from lcl_tui.optimization import make_optimizer

    model = build_model(ModelConfig(name=str(tiny_model_dir)), num_labels=4, objective="lcl")
    optimizer = make_optimizer(model, lr=1e-4, weight_decay=0.01, head_lr=2e-3)
    rate_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    for name, parameter in model.named_parameters():
        expected = 2e-3 if name.startswith(("classifier.", "weighting_head.")) else 1e-4
        assert rate_of[id(parameter)] == expected, name
    decay_of = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    assert decay_of[id(model.classifier.dense.bias)] == 0.0
    assert decay_of[id(model.classifier.dense.weight)] == 0.01
