"""FastDropout: torch's dropout with masks drawn four to a 64-bit draw (lcl_tui/dropout.py)."""

import pytest
import torch
from torch import nn

from lcl_tui.dropout import (
    ATTENTION,
    FastDropout,
    keep_mask,
    quantised_drop_probability,
    sdpa_with_fast_dropout,
    torch_masks_are_fast,
    use_fast_attention_dropout,
    use_fast_dropout,
)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_a_mask_drops_each_element_with_probability_p(p):
    torch.manual_seed(0)
    keep = keep_mask(torch.Size([1000, 1000]), p, torch.device("cpu"))
    assert keep.dtype is torch.bool
    # 10^6 draws: the standard error of the rate is below 0.0005.
    assert abs((1 - keep.float().mean().item()) - p) < 0.003


def test_masks_are_independent_of_position():
    torch.manual_seed(1)
    keep = keep_mask(torch.Size([4000, 256]), 0.3, torch.device("cpu")).float()
    # The four 16-bit slices of each 64-bit draw: no slice may be biased.
    for slot in range(4):
        assert abs(1 - keep.flatten()[slot::4].mean().item() - 0.3) < 0.01
    # Neighbours (which share a draw) are uncorrelated.
    first, second = keep.flatten()[0::4], keep.flatten()[1::4]
    assert abs(torch.corrcoef(torch.stack([first, second]))[0, 1].item()) < 0.01


def test_the_expectation_and_the_gradient_are_dropouts():
    torch.manual_seed(2)
    dropout = FastDropout(0.1).train()
    x = torch.full((500, 500), 2.0, requires_grad=True)
    y = dropout(x)
    scale = 1 / (1 - quantised_drop_probability(0.1))
    kept = y != 0
    assert torch.allclose(y[kept], torch.tensor(2.0 * scale))
    assert abs(y.mean().item() - 2.0) < 0.02
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() * scale)


def test_a_seed_gives_the_same_masks_and_eval_is_the_identity():
    dropout = FastDropout(0.2).train()
    x = torch.randn(64, 48)
    torch.manual_seed(3)
    first = dropout(x)
    torch.manual_seed(3)
    assert torch.equal(first, dropout(x))
    assert not torch.equal(first, dropout(x))
    assert dropout.eval()(x) is x
    assert FastDropout(0.0).train()(x) is x
    assert torch.count_nonzero(FastDropout(1.0).train()(x)) == 0
    with pytest.raises(ValueError):
        FastDropout(1.5)


def test_every_dropout_of_a_model_is_replaced_with_its_p_kept():
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1), nn.Sequential(nn.Dropout(0.3), nn.ReLU()))
    model.eval()
    x = torch.randn(5, 8)
    before = model(x)
    assert use_fast_dropout(model) == 2
    assert [type(m) for m in model.modules()].count(nn.Dropout) == 0
    assert sorted(m.p for m in model.modules() if isinstance(m, FastDropout)) == [0.1, 0.3]
    assert all(not m.training for m in model.modules())  # the mode is kept
    assert torch.equal(model(x), before)


def test_torch_masks_count_as_fast_only_off_cpu_or_on_intel_with_mkl(monkeypatch):
    monkeypatch.setattr("lcl_tui.dropout.cpu_is_intel", lambda: False)
    assert not torch_masks_are_fast(torch.device("cpu"))
    assert torch_masks_are_fast(torch.device("cuda"))
    monkeypatch.setattr("lcl_tui.dropout.cpu_is_intel", lambda: True)
    assert torch_masks_are_fast(torch.device("cpu")) == torch.backends.mkl.is_available()


def encoders(tiny_model_dir):
    from lcl_tui.models import load_encoder

    return load_encoder(str(tiny_model_dir)), load_encoder(str(tiny_model_dir))


def inputs():
    ids = torch.randint(5, 40, (4, 12))
    attention_mask = torch.ones(4, 12, dtype=torch.long)
    attention_mask[0, 8:] = 0
    attention_mask[1, 5:] = 0
    return dict(input_ids=ids, attention_mask=attention_mask)


def test_attention_with_fast_dropout_computes_what_sdpa_does(tiny_model_dir, tmp_path):
    fast, stock = encoders(tiny_model_dir)
    assert use_fast_attention_dropout(fast) == 1
    assert fast.config._attn_implementation == ATTENTION
    batch = inputs()
    fast.eval(), stock.eval()
    with torch.no_grad():
        assert torch.equal(fast(**batch).last_hidden_state, stock(**batch).last_hidden_state)
    # Training with no other dropout and an attention dropout that keeps every element: our
    # path (masks, softmax, products) must match the stock sdpa one, values and gradients.
    fast.train(), stock.train()
    for module in [*fast.modules(), *stock.modules()]:
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    for layer in fast.encoder.layer:
        layer.attention.self.dropout.p = 1e-9  # rounds to a drop probability of 0
    ours, theirs = fast(**batch).last_hidden_state, stock(**batch).last_hidden_state
    real = batch["attention_mask"].bool()
    assert torch.allclose(ours[real], theirs[real], atol=1e-5)
    ours[real].sum().backward()
    theirs[real].sum().backward()
    for mine, reference in zip(fast.parameters(), stock.parameters()):
        if reference.grad is not None:
            assert torch.allclose(mine.grad, reference.grad, atol=1e-4)
    # The switch is this process's: a saved encoder loads anywhere with the stock attention.
    fast.save_pretrained(tmp_path / "saved")
    assert ATTENTION not in (tmp_path / "saved" / "config.json").read_text()


def test_attention_dropout_drops_at_its_rate(tiny_model_dir):
    fast, _ = encoders(tiny_model_dir)
    layer = fast.encoder.layer[0].attention.self.train()
    torch.manual_seed(0)
    query = torch.randn(64, 2, 16, 16)
    key, value = torch.randn_like(query), torch.eye(16).expand(64, 2, 16, 16)
    # With the identity as values, the output is the dropped-out attention probabilities.
    out, _ = sdpa_with_fast_dropout(layer, query, key, value, None, dropout=0.5, scaling=0.25)
    probabilities = out.transpose(1, 2)
    dropped = (probabilities == 0).float().mean().item()
    assert abs(dropped - 0.5) < 0.01
    # Rows still sum to 1 on average: the kept probabilities are scaled by 2.
    assert abs(probabilities.sum(-1).mean().item() - 1.0) < 0.02
