"""Significance against a baseline setting: stored test predictions, the seed-level t-interval
and the paired bootstrap over test examples, checked on synthetic predictions with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lcl_tui.metrics import confusion_matrix, macro_f1, per_class_metrics
from lcl_tui.significance import (
    BOOTSTRAP_DRAWS,
    Interval,
    PairedBootstrap,
    RunScore,
    bootstrap_cell,
    compare,
    p_value_cell,
    seed_cell,
    seed_difference,
    t_cdf,
    t_quantile,
)
from lcl_tui.stored_predictions import (
    FILE_NAME,
    StoredPredictions,
    load_test_predictions,
    save_test_predictions,
)

# --- stored predictions ------------------------------------------------------------------------------


def test_stored_predictions_round_trip_and_damaged_files_read_as_none(tmp_path):
    assert load_test_predictions(tmp_path) is None  # a run from before they were stored
    assert save_test_predictions(tmp_path, ["a", "b", "c"], [0, 1, 1], [0, 0, 1], ["neg", "pos"])
    stored = load_test_predictions(tmp_path)
    assert (stored.labels, stored.predictions, stored.num_labels) == ((0, 1, 1), (0, 0, 1), 2)
    raw = json.loads((tmp_path / FILE_NAME).read_text())
    for damage in ({"predictions": [0, 0]}, {"labels": [0, 1, 2]}, {"format": 99}, {"labels": [0, True, 1]}):
        (tmp_path / FILE_NAME).write_text(json.dumps({**raw, **damage}))
        assert load_test_predictions(tmp_path) is None, damage
    (tmp_path / FILE_NAME).write_text('{"format": 1, "lab')  # torn
    assert load_test_predictions(tmp_path) is None


def test_a_disk_that_refuses_the_file_never_fails_the_run(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert save_test_predictions(blocker, ["a"], [0], [0], ["x", "y"]) is False
    with pytest.raises(ValueError):
        save_test_predictions(tmp_path, ["a", "b"], [0], [0], ["x", "y"])


# --- the t-interval over seeds --------------------------------------------------------------------


@pytest.mark.parametrize("df, quantile", [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764),
                                          (9, 2.2622), (30, 2.0423), (200, 1.9719)])
def test_t_quantiles_match_the_printed_tables(df, quantile):
    assert t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-4)
    assert t_quantile(0.025, df) == pytest.approx(-quantile, abs=1e-4)
    assert t_cdf(0.0, df) == 0.5


def test_seed_interval_by_hand():
    # Differences 0.02, 0.04, 0.00: mean 0.02, sd 0.02, t(0.975, 2) = 4.3027, half = 4.3027 * 0.02 / sqrt(3).
    difference = seed_difference({1: 0.62, 2: 0.64, 3: 0.60, 4: 0.99}, {1: 0.60, 2: 0.60, 3: 0.60})
    assert difference.pairs == 3 and difference.mean == pytest.approx(0.02)
    assert difference.interval.low == pytest.approx(0.02 - 0.049683, abs=1e-6)
    assert difference.interval.high == pytest.approx(0.02 + 0.049683, abs=1e-6)
    assert not difference.interval.excludes_zero and seed_cell(difference) == "+2.0 [-3.0, +7.0]"
    # The same gain on every seed: no spread, the interval is the point and excludes 0.
    steady = seed_difference({1: 0.65, 2: 0.70}, {1: 0.60, 2: 0.65})
    assert steady.interval.excludes_zero and seed_cell(steady) == "+5.0 [+5.0, +5.0] *"


def test_one_seed_has_a_difference_but_no_interval_and_no_common_seed_has_neither():
    one = seed_difference({1: 0.7}, {1: 0.6, 2: 0.5})
    assert (one.pairs, one.interval) == (1, None) and one.mean == pytest.approx(0.1)
    assert seed_cell(one) == "+10.0 (1 seed)"
    assert seed_difference({1: 0.7}, {2: 0.6}) is None and seed_cell(None) == "n/a"


# --- the paired bootstrap over test rows ----------------------------------------------------------


def predictions(labels, guesses, rows="rows-a", classes=3):
    return StoredPredictions(test_rows=rows, label_names=tuple("abcdefgh"[:classes]),
                             labels=tuple(labels), predictions=tuple(guesses))


def synthetic(rows=400, accuracy=0.6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    wrong = (labels + rng.integers(1, classes, rows)) % classes
    guesses = np.where(rng.random(rows) < accuracy, labels, wrong)
    return labels.tolist(), guesses.tolist()


def test_identical_predictions_differ_by_zero_with_p_one():
    labels, guesses = synthetic()
    run = predictions(labels, guesses)
    accuracy, macro_f1 = PairedBootstrap().compare([run], [predictions(labels, guesses)])
    for difference in (accuracy, macro_f1):
        assert difference.mean == 0 and difference.interval == Interval(0.0, 0.0)
        assert not difference.interval.excludes_zero and difference.p_value == 1.0
    assert bootstrap_cell(accuracy) == "+0.0 [+0.0, +0.0]" and p_value_cell(accuracy) == "1.000"


def test_right_wherever_the_baseline_is_wrong_is_a_known_gain_that_excludes_zero():
    labels, guesses = synthetic(rows=500, accuracy=0.6)
    baseline = predictions(labels, guesses)
    better = predictions(labels, labels)  # right on every row, including every row the baseline misses
    wrong_share = sum(y != p for y, p in zip(labels, guesses)) / len(labels)
    accuracy, macro_f1 = PairedBootstrap().compare([better], [baseline])
    assert accuracy.mean == pytest.approx(wrong_share)
    assert macro_f1.mean == pytest.approx(1 - macro_f1_of(labels, guesses, 3))
    for difference in (accuracy, macro_f1):
        assert difference.interval.excludes_zero and difference.interval.low > 0
        assert difference.interval.low < difference.mean < difference.interval.high
        assert difference.p_value == pytest.approx(2 / (BOOTSTRAP_DRAWS + 1))  # no draw at or below 0
    # The accuracy interval is about 1.96 standard errors of a share of wrong rows.
    standard_error = (wrong_share * (1 - wrong_share) / len(labels)) ** 0.5
    assert accuracy.interval.high - accuracy.interval.low == pytest.approx(2 * 1.96 * standard_error, rel=0.15)
    assert p_value_cell(accuracy) == "<0.001" and bootstrap_cell(accuracy).endswith(" *")
    # Swapped, the same difference the other way round.
    worse, _ = PairedBootstrap().compare([baseline], [better])
    assert worse.mean == pytest.approx(-wrong_share) and worse.interval.high < 0


def macro_f1_of(labels, guesses, classes):
    confusion = confusion_matrix(labels, guesses, classes)
    return macro_f1(confusion, per_class_metrics(confusion, [str(k) for k in range(classes)]))


def test_resampled_scores_agree_with_the_metrics_module_and_average_over_seeds():
    # Class 2 is never predicted by one run and absent from the labels of none: macro-F1 must
    # count the classes as metrics.py does, on the whole split and on each draw.
    labels, guesses_a = synthetic(rows=300, accuracy=0.7, classes=4, seed=1)
    _, guesses_b = synthetic(rows=300, accuracy=0.5, classes=4, seed=2)
    guesses_b = [0 if g == 2 else g for g in guesses_b]
    a1, b1 = predictions(labels, guesses_a, classes=4), predictions(labels, guesses_b, classes=4)
    accuracy, macro_f1 = PairedBootstrap().compare([a1], [b1])
    expected_accuracy = (sum(y == g for y, g in zip(labels, guesses_a))
                         - sum(y == g for y, g in zip(labels, guesses_b))) / len(labels)
    assert accuracy.mean == pytest.approx(expected_accuracy)
    assert macro_f1.mean == pytest.approx(macro_f1_of(labels, guesses_a, 4) - macro_f1_of(labels, guesses_b, 4))
    # Two seed pairs: the mean over seeds of the differences; the same draws every time.
    _, guesses_c = synthetic(rows=300, accuracy=0.6, classes=4, seed=3)
    a2 = predictions(labels, guesses_c, classes=4)
    two, _ = PairedBootstrap().compare([a1, a2], [b1, b1])
    second = (sum(y == g for y, g in zip(labels, guesses_c)) - sum(y == g for y, g in zip(labels, guesses_b)))
    assert two.pairs == 2 and two.mean == pytest.approx((expected_accuracy + second / len(labels)) / 2)
    assert PairedBootstrap().compare([a1, a2], [b1, b1])[0] == two


def test_compare_pairs_runs_by_seed_and_says_why_a_bootstrap_is_missing():
    labels, guesses = synthetic()
    stored = predictions(labels, guesses)
    other_rows = predictions(labels, guesses, rows="rows-b")
    setting = [RunScore(1, 0.7, 0.6, stored), RunScore(2, 0.8, 0.7, stored), RunScore(3, 0.9, 0.9, stored)]
    baseline = [RunScore(2, 0.6, 0.6, stored), RunScore(1, 0.6, 0.5, stored)]
    both = compare(setting, baseline)
    assert both.accuracy.pairs == 2 and both.accuracy.mean == pytest.approx(0.15)  # seed 3 has no partner
    assert both.macro_f1.mean == pytest.approx(0.1) and both.bootstrap_accuracy.pairs == 2
    older = compare(setting, [RunScore(1, 0.6, 0.5, None)])  # a run from before predictions were stored
    assert older.accuracy.mean == pytest.approx(0.1) and older.bootstrap_accuracy is None
    assert older.bootstrap_missing == "no stored test predictions" and bootstrap_cell(None) == "n/a"
    moved = compare(setting, [RunScore(1, 0.6, 0.5, other_rows)])
    assert moved.bootstrap_accuracy is None and moved.bootstrap_missing == "runs tested on different rows"
    apart = compare(setting, [RunScore(7, 0.6, 0.5, stored)])
    assert apart.accuracy is None and apart.bootstrap_missing == "no seed in common"
    with pytest.raises(ValueError, match="same rows"):
        PairedBootstrap().compare([stored], [other_rows])
