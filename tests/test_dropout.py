"""FastDropout: torch's dropout with masks drawn four to a 64-bit draw (lcl_tui/dropout.py)."""

import pytest
import torch
from torch import nn

from lcl_tui.dropout import FastDropout, keep_mask, quantised_drop_probability, torch_masks_are_fast, use_fast_dropout


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
