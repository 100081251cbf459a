"""The app's pure pieces: series thinning, progress/ETA, confusion maths, the form model, the queue."""

import threading

import pytest

from lcl_tui.app.confusion import most_confused_pairs, row_normalised
from lcl_tui.app.form_model import (
    FIELDS,
    build_config,
    form_values,
    is_local_file,
    owner_of,
)
from lcl_tui.app.run_queue import LiveRun, RunQueue
from lcl_tui.app.series import (
    accuracy_curves,
    ema,
    envelope,
    format_duration,
    loss_curve,
    loss_terms,
    progress,
    thin,
    training_accuracy,
    validation_series,
)
from lcl_tui.config import RunConfig
from lcl_tui.events import RunFinished, RunSnapshot, RunStarted

from test_app_fakes import LABELS, fake_events, fake_step


def snapshot_of(events) -> RunSnapshot:
    snapshot = RunSnapshot()
    for event in events:
        snapshot.apply(event)
    return snapshot


def test_thin_keeps_short_series_and_the_last_point():
    xs = list(range(10))
    assert thin(xs, xs, 20) == (xs, xs)
    long_x = [float(i) for i in range(10_000)]
    tx, ty = thin(long_x, long_x, 100)
    assert len(tx) == 100 and tx[-1] == 9999.0 and ty[-1] == 9999.0
    assert tx == sorted(tx)


def test_each_loss_term_is_its_own_curve_smoothed_with_the_raw_points_behind():
    snapshot = snapshot_of(fake_events(total=50))
    assert loss_terms(snapshot) == ["total", "ce", "weight_ce", "contrastive"]
    contrastive = loss_curve(snapshot, "contrastive", max_points=200)
    (name, (xs, ys)), = contrastive.curves.items()
    assert name == "smoothed" and len(xs) == 50
    assert ys == pytest.approx(ema([e.components["contrastive"] for e in snapshot.steps]))
    assert contrastive.faint["raw"][1] == [e.components["contrastive"] for e in snapshot.steps]
    raw = loss_curve(snapshot, "ce", smooth=False)
    assert list(raw.curves) == ["raw"] and raw.faint == {}
    assert raw.curves["raw"][1] == [e.components["ce"] for e in snapshot.steps]


def test_ema_is_bias_corrected_and_envelope_keeps_the_spread():
    assert ema([0.5]) == [0.5]  # not pulled towards zero
    assert ema([1.0] * 30) == pytest.approx([1.0] * 30)
    noisy = [float(i % 2) for i in range(1000)]
    xs, ys = envelope(list(range(1000)), noisy, max_points=100)
    assert len(xs) == 100 and min(ys) == 0.0 and max(ys) == 1.0  # bucket means would say 0.5


def test_training_accuracy_from_the_first_step_beside_validation():
    snapshot = snapshot_of(fake_events(total=100, upto=3, finished=False))
    assert snapshot.validation_evals == []
    assert training_accuracy(snapshot) == pytest.approx(ema([s.accuracy for s in snapshot.steps])[-1])
    curves = accuracy_curves(snapshot)
    assert list(curves.curves) == ["train"] and list(curves.faint) == ["raw"]
    later = accuracy_curves(snapshot_of(fake_events(total=100, upto=40, finished=False)))
    assert list(later.curves) == ["train", "val", "F1"]


def test_validation_series_and_progress_with_eta_from_the_run_clock():
    snapshot = snapshot_of(fake_events(total=100, upto=40, finished=False))
    assert validation_series(snapshot)["val"][0] == [20.0, 40.0]
    p = progress(snapshot)
    assert (p.step, p.total_steps) == (40, 100)
    assert p.eta_seconds == pytest.approx(20.0 / 40 * 60)  # 0.5 s a step, 60 steps left
    assert format_duration(p.eta_seconds) == "00:30"
    assert format_duration(3725) == "1:02:05"


def test_finished_run_has_no_eta():
    assert progress(snapshot_of(fake_events(total=20))).eta_seconds is None


def test_confusion_helpers():
    confusion = [[5, 3, 0], [0, 4, 4], [1, 0, 0]]
    assert row_normalised(confusion)[0] == pytest.approx([5 / 8, 3 / 8, 0])
    pairs = most_confused_pairs(confusion, ["a", "b", "c"])
    assert [(p.true_label, p.predicted_label, p.count) for p in pairs] == [("b", "c", 4), ("a", "b", 3), ("c", "a", 1)]


def test_form_round_trips_a_config():
    config = RunConfig().replace(**{"loss.objective": "lcl", "model.weighting": "separate", "train.max_steps": 7})
    values = form_values(config)
    assert values["loss"] == "lcl:separate" and values["train.max_steps"] == "7"
    result = build_config(RunConfig(), values)
    assert result.ok
    assert result.config.model.weighting == "separate" and result.config.train.max_steps == 7


def test_form_reports_every_bad_field_against_its_key():
    values = form_values(RunConfig())
    values.update({"loss.alpha": "1.5", "optim.lr": "fast", "train.max_steps": "", "train.device": "tpu"})
    result = build_config(RunConfig(), values)
    assert not result.ok
    assert set(result.errors) == {"loss.alpha", "optim.lr", "train.device"}
    assert "loss.alpha must be in [0, 1]" in result.errors["loss.alpha"]


def test_cross_field_error_lands_on_the_field_that_owns_it():
    values = form_values(RunConfig())
    values["train.batch_size"] = "2"  # below train.examples_per_class (4)
    result = build_config(RunConfig(), values)
    assert "train.batch_size" in result.errors


def test_every_field_key_is_owned_by_itself():
    for spec in FIELDS:
        if spec.key != "loss":
            assert owner_of(f"{spec.key} must be something") == spec.key
    assert owner_of("model.weighting must be one of shared, separate") == "loss"


def test_local_file_detection():
    assert is_local_file("data/train.csv") and is_local_file("x.jsonl")
    assert not is_local_file("movie-snippets-5") and not is_local_file("hub:dair-ai/emotion")


def test_missing_files_are_caught_before_a_run(tmp_path):
    values = form_values(RunConfig())
    values["data.dataset"] = str(tmp_path / "gone.csv")
    values["model.name"] = str(tmp_path / "no-model")
    result = build_config(RunConfig(), values)
    assert set(result.errors) == {"data.dataset", "model.name"}
    values["model.name"] = "org/hub-model"  # a hub id, not checked here
    (tmp_path / "gone.csv").write_text("text,label\n")
    assert build_config(RunConfig(), values).ok


def test_queue_starts_at_most_concurrency_runs(tmp_path):
    queue = RunQueue(concurrency=1)
    first = queue.add(LiveRun(RunConfig(), tmp_path))
    second = queue.add(LiveRun(RunConfig(), tmp_path))
    assert queue.ready_to_start() == [first]
    assert queue.ready_to_start() == []
    queue.cancel(second)
    assert second.state == "stopped" and second.stop.is_set()
    first.finish("completed")
    assert queue.ready_to_start() == []  # its thread has not returned yet
    first.occupies_slot = False
    queue.concurrency = 2
    third = queue.add(LiveRun(RunConfig(), tmp_path))
    fourth = queue.add(LiveRun(RunConfig(), tmp_path))
    assert queue.ready_to_start() == [third, fourth]
    assert queue.ready_to_start() == []


def test_live_run_folds_events_from_another_thread(tmp_path):
    live = LiveRun(RunConfig(), tmp_path)

    def produce():
        live.publish(RunStarted("run-x", LABELS, 500, "cpu", 1, 1, 1, "lcl", 0.0))
        for step in range(1, 501):
            live.publish(fake_step(step, 500))
        live.publish(RunFinished("completed", 500, 1.0))

    thread = threading.Thread(target=produce)
    thread.start()
    views = []
    while thread.is_alive():
        views.append(len(live.view().steps))
    thread.join()
    view = live.view()
    assert len(view.steps) == 500 and live.state == "completed"
    assert live.run is not None and live.run.path == tmp_path / "run-x"
    assert views == sorted(views)  # never goes backwards, never a torn list


def test_heatmap_scale_pairs_and_headers():
    from lcl_tui.app.heatmap import RAMP, closest_pairs, header_lines, off_diagonal_range, ramp_step

    affinity = [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.05, 0.15, 0.8]]
    assert off_diagonal_range(affinity) == (0.05, 0.3)  # the diagonal does not flatten the scale
    assert ramp_step(0.05, 0.05, 0.3) == 0 and ramp_step(0.3, 0.05, 0.3) == len(RAMP) - 1
    assert all(16 <= colour <= 231 for colour in RAMP)  # xterm-256 colours: the same in 256 colours
    pairs = closest_pairs(affinity, ["a", "b", "c"], symmetric=False, limit=2)
    assert [(p.first, p.second, p.value) for p in pairs] == [("b", "a", 0.3), ("a", "b", 0.2)]
    similarity = [[1.0, 0.8, 0.1], [0.8, 1.0, 0.5], [0.1, 0.5, 1.0]]
    assert [(p.first, p.second) for p in closest_pairs(similarity, ["a", "b", "c"], symmetric=True)] == [
        ("a", "b"), ("b", "c"), ("a", "c")]  # each unordered pair once
    assert header_lines("very negative", 13) == ["", "very negative"]
    assert header_lines("very negative", 8) == ["very", "negative"]
    assert header_lines("abbreviation", 6) == ["", "abbre…"]


def test_many_classes_list_their_closest_pairs_first_and_fit_one_cell_each():
    from lcl_tui.app.widgets.evaluation import Heatmap

    labels = [f"class-{i:02d}" for i in range(50)]
    matrix = [[0.5 if i == j else (0.3 if (i, j) == (7, 8) else 0.01) for j in range(50)] for i in range(50)]
    heatmap = Heatmap()
    heatmap.show(matrix, labels, symmetric=False, note="")
    lines = [line.plain for line in heatmap.lines(80)]
    assert lines[0] == "Closest pairs:" and lines[1].split() == ["class-07", "→", "class-08", "0.300"]
    grid = [line for line in lines if line.startswith("class-")]
    assert len(grid) == 50 and all(len(line) <= 80 for line in grid)
    few = Heatmap()
    few.show([[0.9, 0.1], [0.2, 0.8]], ["very negative", "very positive"], symmetric=False, note="")
    shown = [line.plain for line in few.lines(80)]
    assert "very negative" in shown[0] and "0.10" in shown[1] and shown[-3] == "Closest pairs:"


def test_a_flat_curve_gets_a_padded_y_range():
    """One step in: plotext labelled the flat axis '1.79853379726409934', squeezing the chart."""
    from lcl_tui.app.widgets.charts import _padded_range

    low, high = _padded_range([([1.0], [1.7985337972640993])])
    assert low == pytest.approx(1.7985 - 0.0899, abs=1e-3) and high == pytest.approx(1.7985 + 0.0899, abs=1e-3)
    assert _padded_range([([1.0, 2.0], [1.8, 1.6])]) is None  # plotext's own ticks
    assert _padded_range([([], [])]) is None
