"""Tests for lcl_tui.losses against plain loop references, hand values and properties."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lcl_tui.losses import (
    adaptive_temperature_scl,
    label_aware_contrastive_loss,
    positive_mask,
    supervised_contrastive_loss,
)

# ---------------------------------------------------------------------------
# Plain, unvectorised references: the METHOD.md formulas written out term by term.
# ---------------------------------------------------------------------------


def _loop_loss(
    h: torch.Tensor,
    y: list[int],
    tau_of: Callable[[int], float],
    v: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over anchors with positives of -(1/|P|) sum_p w_iyi [s_ip - log sum_{k!=i} w_iyk exp(s_ik)]."""
    b = len(y)
    terms = []
    for i in range(b):
        positives = [p for p in range(b) if p != i and y[p] == y[i]]
        if not positives:
            continue
        tau = tau_of(i)
        w = torch.softmax(v[i], dim=0) if v is not None else None
        denom = 0.0
        for k in range(b):
            if k == i:
                continue
            weight = w[y[k]] if w is not None else 1.0
            denom = denom + weight * torch.exp(torch.dot(h[i], h[k]) / tau)
        anchor_w = w[y[i]] if w is not None else 1.0
        total = 0.0
        for p in positives:
            total = total + anchor_w * (torch.dot(h[i], h[p]) / tau - torch.log(denom))
        terms.append(-total / len(positives))
    if not terms:  # attached zero, like the implementation
        return h.sum() * 0.0 + (v.sum() * 0.0 if v is not None else 0.0)
    return sum(terms) / len(terms)


def ref_scl(h: torch.Tensor, y: list[int], tau: float) -> torch.Tensor:
    return _loop_loss(h, y, lambda i: tau)


def ref_lcl(h: torch.Tensor, y: list[int], v: torch.Tensor, tau: float) -> torch.Tensor:
    return _loop_loss(h, y, lambda i: tau, v)


def ref_adaptive(h: torch.Tensor, y: list[int], tau: float) -> torch.Tensor:
    def tau_of(i: int) -> float:
        return tau * sum(1 for p in range(len(y)) if p != i and y[p] == y[i])

    return _loop_loss(h, y, tau_of)


def _features(b: int, d: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, d, generator=g, dtype=torch.float64), dim=1).to(dtype)


LABEL_MIXES = {
    "random3": [0, 2, 1, 0, 2, 2, 1, 0, 1],
    "all_same": [4, 4, 4, 4, 4],
    "all_different": [0, 1, 2, 3, 4],
    "singletons_mixed": [0, 0, 1, 2, 2, 2, 3, 4],
    "pairs": [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
    "two": [1, 1],
}
TEMPERATURES = [0.05, 0.1, 0.3, 1.0, 10.0]
NUM_CLASSES = 6


def _assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("mix", sorted(LABEL_MIXES))
def test_scl_matches_loop_value_and_grad(mix: str, tau: float) -> None:
    y = LABEL_MIXES[mix]
    h = _features(len(y), 7, seed=len(y) * 31 + int(tau * 100)).requires_grad_()
    labels = torch.tensor(y)
    got = supervised_contrastive_loss(h, labels, tau)
    want = ref_scl(h, y, tau)
    _assert_close(got, want)
    (g_got,) = torch.autograd.grad(got, h)
    (g_want,) = torch.autograd.grad(want, h)
    _assert_close(g_got, g_want)


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("mix", sorted(LABEL_MIXES))
def test_adaptive_matches_loop_value_and_grad(mix: str, tau: float) -> None:
    y = LABEL_MIXES[mix]
    h = _features(len(y), 5, seed=len(y) * 17 + int(tau * 100)).requires_grad_()
    got = adaptive_temperature_scl(h, torch.tensor(y), tau)
    want = ref_adaptive(h, y, tau)
    _assert_close(got, want)
    (g_got,) = torch.autograd.grad(got, h)
    (g_want,) = torch.autograd.grad(want, h)
    _assert_close(g_got, g_want)


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("mix", sorted(LABEL_MIXES))
def test_lcl_matches_loop_value_and_grads(mix: str, tau: float) -> None:
    y = LABEL_MIXES[mix]
    b = len(y)
    seed = b * 13 + int(tau * 100)
    h = _features(b, 6, seed).requires_grad_()
    g = torch.Generator().manual_seed(seed + 1)
    v = (2.0 * torch.randn(b, NUM_CLASSES, generator=g, dtype=torch.float64)).requires_grad_()
    got = label_aware_contrastive_loss(h, torch.tensor(y), v, tau)
    want = ref_lcl(h, y, v, tau)
    _assert_close(got, want)
    g_got = torch.autograd.grad(got, (h, v))
    g_want = torch.autograd.grad(want, (h, v))
    _assert_close(g_got[0], g_want[0])
    _assert_close(g_got[1], g_want[1])


def test_lcl_gradcheck() -> None:
    """Finite-difference check of the vectorised LCL itself, independent of the loop."""
    y = torch.tensor([0, 1, 0, 2, 1, 3])
    h = _features(6, 4, seed=3).requires_grad_()
    v = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4)).requires_grad_()
    # Features need not be unit-norm for the gradient check; the formula is smooth in them.
    assert torch.autograd.gradcheck(lambda a, b: label_aware_contrastive_loss(a, y, b, 0.3), (h, v))


# ---------------------------------------------------------------------------
# Hand-computed values.
# ---------------------------------------------------------------------------


def _clustered(num_classes: int, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each class at its own basis vector: positives coincide, negatives are orthogonal."""
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    return torch.eye(num_classes, dtype=torch.float64)[labels], labels


@pytest.mark.parametrize(("num_classes", "per_class", "tau"), [(2, 2, 1.0), (3, 4, 0.1), (5, 3, 7.0)])
def test_scl_hand_value_coincident_positives_orthogonal_negatives(num_classes: int, per_class: int, tau: float) -> None:
    h, labels = _clustered(num_classes, per_class)
    n = per_class
    # Every anchor: n-1 positives at s = 1/tau, (C-1) n negatives at s = 0.
    expected = math.log((n - 1) * math.exp(1 / tau) + (num_classes - 1) * n) - 1 / tau
    assert supervised_contrastive_loss(h, labels, tau).item() == pytest.approx(expected, abs=1e-12)
    # The simplest case written out: log(e + 2) - 1.
    if (num_classes, per_class, tau) == (2, 2, 1.0):
        assert supervised_contrastive_loss(h, labels, tau).item() == pytest.approx(math.log(math.e + 2) - 1)


def test_adaptive_hand_value() -> None:
    h, labels = _clustered(3, 4)
    tau_i = 0.2 * 3  # |P(i)| = 3 for every anchor
    expected = math.log(3 * math.exp(1 / tau_i) + 2 * 4) - 1 / tau_i
    assert adaptive_temperature_scl(h, labels, 0.2).item() == pytest.approx(expected, abs=1e-12)


def test_anchors_without_positives_are_left_out_of_the_mean() -> None:
    h = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1])
    tau = 0.5
    # Anchors 0 and 1: log(e^{1/tau} + 1) - 1/tau each; anchor 2 has no positive.
    expected = math.log1p(math.exp(-1 / tau))
    assert supervised_contrastive_loss(h, labels, tau).item() == pytest.approx(expected, abs=1e-12)


def test_identical_features_tiny_temperature() -> None:
    b = 16
    h = F.normalize(torch.ones(b, 8), dim=1).requires_grad_()
    loss = supervised_contrastive_loss(h, torch.zeros(b, dtype=torch.long), 0.01)
    assert loss.item() == pytest.approx(math.log(b - 1), abs=1e-4)
    (grad,) = torch.autograd.grad(loss, h)
    assert torch.isfinite(grad).all()


def test_positive_mask() -> None:
    mask = positive_mask(torch.tensor([0, 1, 0]))
    assert mask.tolist() == [[False, False, True], [False, False, False], [True, False, False]]


# ---------------------------------------------------------------------------
# LCL identities and weight-gradient options.
# ---------------------------------------------------------------------------


def test_lcl_uniform_weights_is_shifted_scaled_scl() -> None:
    """w = 1/C everywhere: LCL = (SCL - log C) / C."""
    y = torch.tensor(LABEL_MIXES["random3"])
    h = _features(len(y), 6, seed=11)
    c = 5
    v = torch.zeros(len(y), c, dtype=torch.float64)
    lcl = label_aware_contrastive_loss(h, y, v, 0.3)
    scl = supervised_contrastive_loss(h, y, 0.3)
    assert lcl.item() == pytest.approx((scl.item() - math.log(c)) / c, abs=1e-12)


def test_lcl_invariant_to_per_row_logit_shift() -> None:
    y = torch.tensor(LABEL_MIXES["singletons_mixed"])
    h = _features(len(y), 6, seed=12)
    v = torch.randn(len(y), 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    shift = torch.linspace(-50, 50, len(y), dtype=torch.float64).unsqueeze(1)
    a = label_aware_contrastive_loss(h, y, v, 0.3)
    b = label_aware_contrastive_loss(h, y, v + shift, 0.3)
    assert a.item() == pytest.approx(b.item(), abs=1e-12)


def test_lcl_one_hot_own_class_weights_keep_only_positives_in_denominator() -> None:
    """w_i one-hot on y_i: w_{i,y_i} = 1 and only same-class k stay in the denominator."""
    y_list = LABEL_MIXES["singletons_mixed"]
    y = torch.tensor(y_list)
    h = _features(len(y), 6, seed=13)
    tau = 0.3
    v = 80.0 * F.one_hot(y, 5).to(torch.float64)
    got = label_aware_contrastive_loss(h, y, v, tau).item()
    sim = h @ h.T / tau
    pos = positive_mask(y)
    terms = [
        torch.logsumexp(sim[i][pos[i]], 0).item() - sim[i][pos[i]].mean().item()
        for i in range(len(y))
        if pos[i].any()
    ]
    assert got == pytest.approx(sum(terms) / len(terms), abs=1e-9)
    # With coincident positives each anchor contributes log |P(i)|.
    hc, yc = _clustered(3, 4)
    vc = 80.0 * F.one_hot(yc, 3).to(torch.float64)
    assert label_aware_contrastive_loss(hc, yc, vc, 0.1).item() == pytest.approx(math.log(3), abs=1e-9)


@pytest.mark.parametrize("detach", [False, True])
def test_lcl_detach_weights(detach: bool) -> None:
    y = torch.tensor([0, 1, 0, 2, 1])
    h = _features(5, 4, seed=5).requires_grad_()
    v = torch.randn(5, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64).requires_grad_()
    label_aware_contrastive_loss(h, y, v, 0.3, detach_weights=detach).backward()
    assert h.grad is not None and h.grad.abs().sum() > 0
    if detach:
        assert v.grad is None
    else:
        assert v.grad is not None and v.grad.abs().sum() > 0


# ---------------------------------------------------------------------------
# No positives: exactly zero, attached, zero gradients.
# ---------------------------------------------------------------------------


def _all_losses(h: torch.Tensor, y: torch.Tensor, v: torch.Tensor, tau: float) -> dict[str, torch.Tensor]:
    return {
        "scl": supervised_contrastive_loss(h, y, tau),
        "lcl": label_aware_contrastive_loss(h, y, v, tau),
        "adaptive": adaptive_temperature_scl(h, y, tau),
    }


@pytest.mark.parametrize("b", [1, 6])
@pytest.mark.parametrize("tau", [0.01, 1.0, 1000.0])
def test_no_positives_gives_exact_zero_and_zero_grads(b: int, tau: float) -> None:
    h = _features(b, 4, seed=b, dtype=torch.float32).requires_grad_()
    v = torch.randn(b, 8).requires_grad_()
    y = torch.arange(b)
    for name, loss in _all_losses(h, y, v, tau).items():
        assert loss.item() == 0.0, name
        assert loss.requires_grad, name
        gh, gv = torch.autograd.grad(loss, (h, v), allow_unused=True)
        assert torch.equal(gh, torch.zeros_like(h)), name
        assert gv is None or torch.equal(gv, torch.zeros_like(v)), name


# ---------------------------------------------------------------------------
# Properties: finite loss and gradients across temperatures, sizes and label mixes.
# ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    b=st.integers(1, 256),
    d=st.integers(1, 16),
    log_tau=st.floats(-2.0, 3.0),
    label_mode=st.sampled_from(["same", "different", "random"]),
    num_classes=st.integers(1, 40),
    identical=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_finite_everywhere(
    b: int, d: int, log_tau: float, label_mode: str, num_classes: int, identical: bool, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(1 if identical else b, d, generator=g).expand(b, d)
    h = F.normalize(raw, dim=1).clone().requires_grad_()
    if label_mode == "same":
        y = torch.zeros(b, dtype=torch.long)
    elif label_mode == "different":
        y = torch.arange(b)
    else:
        y = torch.randint(0, num_classes, (b,), generator=g)
    c = int(y.max()) + 1
    v = (10.0 * torch.randn(b, c, generator=g)).requires_grad_()
    tau = 10.0**log_tau
    for name, loss in _all_losses(h, y, v, tau).items():
        assert loss.dtype == torch.float32
        assert torch.isfinite(loss), (name, loss)
        gh, gv = torch.autograd.grad(loss, (h, v), allow_unused=True)
        assert torch.isfinite(gh).all(), name
        assert gv is None or torch.isfinite(gv).all(), name
        if label_mode == "different" or b == 1:
            assert loss.item() == 0.0, name


# ---------------------------------------------------------------------------
# Dtypes, devices, input checks.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_upcast(dtype: torch.dtype) -> None:
    y = torch.tensor([0, 1, 0, 1, 2, 2])
    h = _features(6, 8, seed=9, dtype=dtype).requires_grad_()
    v = torch.randn(6, 3).to(dtype).requires_grad_()
    loss = label_aware_contrastive_loss(h, y, v, 0.05)
    assert loss.dtype == torch.float32
    expected = label_aware_contrastive_loss(h.detach().float(), y, v.detach().float(), 0.05)
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)
    loss.backward()
    assert h.grad is not None and h.grad.dtype == dtype and torch.isfinite(h.grad).all()
    assert supervised_contrastive_loss(h, y, 0.05).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:
    y = torch.tensor([0, 1, 0, 1, 2, 2, 3])
    h = _features(7, 8, seed=10, dtype=torch.float32)
    v = torch.randn(7, 4)
    for name, cpu in _all_losses(h, y, v, 0.1).items():
        gpu = _all_losses(h.cuda(), y.cuda(), v.cuda(), 0.1)[name]
        assert gpu.item() == pytest.approx(cpu.item(), abs=1e-5), name


@pytest.mark.parametrize(
    "call",
    [
        lambda: supervised_contrastive_loss(torch.zeros(3), torch.zeros(3, dtype=torch.long), 0.1),
        lambda: supervised_contrastive_loss(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long), 0.1),
        lambda: supervised_contrastive_loss(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), 0.0),
        lambda: adaptive_temperature_scl(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), float("nan")),
        lambda: label_aware_contrastive_loss(
            torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), torch.zeros(2, 4), 0.1
        ),
    ],
)
def test_bad_inputs_raise(call: Callable[[], torch.Tensor]) -> None:
    with pytest.raises(ValueError):
        call()
