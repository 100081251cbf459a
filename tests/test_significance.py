"""Significance against a baseline setting: stored test predictions, the seed-level t-interval
and the paired bootstrap over test examples, checked on synthetic predictions with known answers."""

from __future__ import annotations

import json

import pytest

from lcl_tui.stored_predictions import FILE_NAME, load_test_predictions, save_test_predictions

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
