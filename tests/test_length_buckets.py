"""Length buckets: a batch cut into runs of like-length texts, each padded to its own
longest, gives the same loss and gradients as the batch padded as one."""

import itertools
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lcl_tui.batching import collate, encode_texts, length_buckets
from lcl_tui.models import build_model, load_tokenizer
from lcl_tui.objectives import objective_loss
from lcl_tui.testing import synthetic_rows, tiny_config
from lcl_tui.training_loop import bucket_cost


def padded_tokens(lengths, buckets):
    return sum(len(b) * max(lengths[p] for p in b) for b in buckets)


def brute_force_cost(lengths, cost):
    """The cheapest cut of the sorted lengths, trying every cut."""
    ordered = sorted(lengths)
    n = len(ordered)
    best = float("inf")
    for cuts in itertools.product([False, True], repeat=n - 1):
        total, start = 0, 0
        for end in [i + 1 for i, cut in enumerate(cuts) if cut] + [n]:
            total += (end - start) * ordered[end - 1] + cost
            start = end
        best = min(best, total)
    return best


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=9), st.integers(0, 200))
def test_buckets_partition_the_batch_at_the_least_cost(lengths, cost):
    buckets = length_buckets(lengths, cost)
    assert sorted(p for b in buckets for p in b) == list(range(len(lengths)))
    # Like lengths together: every bucket's texts are no longer than the next bucket's.
    for shorter, longer in zip(buckets, buckets[1:]):
        assert max(lengths[p] for p in shorter) <= min(lengths[p] for p in longer)
    assert padded_tokens(lengths, buckets) + cost * len(buckets) == brute_force_cost(lengths, cost)


def test_a_high_cost_keeps_one_bucket_and_no_cost_one_per_length():
    lengths = [5, 40, 5, 12, 40, 12, 12]
    assert len(length_buckets(lengths, 10_000)) == 1
    assert len(length_buckets(lengths, 0)) == 3


def test_class_aware_batches_lose_most_of_their_padding():
    rng = random.Random(0)
    lengths = [min(64, int(rng.lognormvariate(3.0, 0.6))) + 2 for _ in range(32)]
    one = padded_tokens(lengths, [list(range(32))])
    cut = length_buckets(lengths, 64)
    assert padded_tokens(lengths, cut) < 0.75 * one
    assert 1 < len(cut) < 8


def test_auto_buckets_on_cpu_in_full_precision_only():
    assert bucket_cost("auto", torch.device("cpu")) is not None
    assert bucket_cost("auto", torch.device("cuda")) is None
    assert bucket_cost("off", torch.device("cpu")) is None
    assert bucket_cost("on", torch.device("cuda")) is not None
    # Under bf16 autocast a CPU pads each batch as one (an encoder call costs too much to split)...
    assert bucket_cost("auto", torch.device("cpu"), torch.bfloat16) is None
    # ...unless asked.
    assert bucket_cost("on", torch.device("cpu"), torch.bfloat16) is not None


@pytest.mark.parametrize("precision,bucketed", [("no", True), ("bf16", False)])
def test_a_cpu_run_buckets_its_batches_in_full_precision_and_not_under_bf16(tmp_path, monkeypatch, precision,
                                                                               bucketed):
    import lcl_tui.training_loop as training_loop
    from lcl_tui.training import train

    cut = []
    real = training_loop.length_buckets
    monkeypatch.setattr(training_loop, "length_buckets", lambda *args: cut.append(1) or real(*args))
    result = train(tiny_config(tmp_path, train__max_steps=2, train__device="cpu", train__sampler="class-aware",
                               train__mixed_precision=precision, train__eval_every_steps=100))
    assert result.status == "completed", result.error
    assert bool(cut) is bucketed


@pytest.mark.parametrize("objective,weighting", [("lcl", "shared"), ("lcl", "separate"), ("scl", "shared")])
def test_buckets_give_the_loss_and_gradients_of_one_padded_batch(tmp_path, objective, weighting):
    config = tiny_config(tmp_path, loss__objective=objective, model__weighting=weighting)
    tokenizer = load_tokenizer(config.model.name)
    rows = synthetic_rows(24, seed=3)
    names = sorted({label for _, label in rows})
    texts = [f"{text} " + " ".join(["plain"] * (i % 7)) for i, (text, _) in enumerate(rows)]
    encoded = encode_texts(tokenizer, texts, [names.index(label) for _, label in rows], 32)
    torch.manual_seed(0)
    model = build_model(config.model, len(names), objective, tokenizer, names).double().eval()
    indices = list(range(len(texts)))

    def loss_and_grads(batch, labels):
        model.zero_grad()
        output = model(batch, with_weights=objective == "lcl")
        loss, _ = objective_loss(output, labels, config.loss)
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    buckets = length_buckets(encoded.lengths_of(indices), 4)
    assert len(buckets) > 1
    parts = [collate(encoded, [indices[p] for p in bucket]) for bucket in buckets]
    # The same rows in the same order, padded as one: only the padding differs.
    whole = collate(encoded, [indices[p] for bucket in buckets for p in bucket])
    loss, grads = loss_and_grads(whole, whole["labels"])
    bucketed_loss, bucketed_grads = loss_and_grads(parts, torch.cat([p["labels"] for p in parts]))
    assert torch.equal(loss, bucketed_loss) or abs(float(loss - bucketed_loss)) < 1e-12
    assert grads.keys() == bucketed_grads.keys()
    for name in grads:
        assert torch.allclose(grads[name], bucketed_grads[name], rtol=0, atol=1e-12), name


def test_buckets_look_up_their_word_embeddings_once(tmp_path):
    """The embedding's gradient is a dense vocabulary x hidden matrix per lookup: one lookup
    for all the buckets of a step, whatever their number."""
    config = tiny_config(tmp_path, loss__objective="lcl", model__weighting="shared")
    tokenizer = load_tokenizer(config.model.name)
    texts = ["short", "a somewhat longer text here", "a much longer text than the others, by far"]
    encoded = encode_texts(tokenizer, texts, [0, 1, 0], 32)
    model = build_model(config.model, 2, "lcl", tokenizer, ["a", "b"])
    lookups = []
    model.backbone.encoder.get_input_embeddings().register_forward_hook(lambda *_: lookups.append(1))
    parts = [collate(encoded, [i]) for i in range(3)]
    bucketed = model(parts).features
    assert len(lookups) == 1
    one_by_one = torch.cat([model(part).features for part in parts])
    assert len(lookups) == 4
    model.eval()
    assert torch.allclose(model(parts).features, torch.cat([model(part).features for part in parts]), atol=1e-6)
    assert bucketed.shape == one_by_one.shape


def test_an_encoder_that_takes_no_inputs_embeds_runs_bucket_by_bucket(tmp_path, monkeypatch):
    import lcl_tui.models as models

    config = tiny_config(tmp_path, loss__objective="ce")
    tokenizer = load_tokenizer(config.model.name)
    encoded = encode_texts(tokenizer, ["short", "a longer text than that"], [0, 1], 32)
    shared = build_model(config.model, 2, "ce", tokenizer, ["a", "b"]).eval()
    parts = [collate(encoded, [0]), collate(encoded, [1])]
    shared_lookup = shared(parts).features
    monkeypatch.setattr(models, "_takes_inputs_embeds", lambda encoder: False)
    model = build_model(config.model, 2, "ce", tokenizer, ["a", "b"]).eval()
    model.load_state_dict(shared.state_dict())
    lookups = []
    model.backbone.encoder.get_input_embeddings().register_forward_hook(lambda *_: lookups.append(1))
    assert torch.allclose(model(parts).features, shared_lookup, atol=1e-6)
    assert len(lookups) == 2
