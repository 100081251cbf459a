"""The monitor's views by keyboard: training accuracy from the first steps, one loss term at a
time, smoothing, the evaluation views (label affinity, centroid similarity, the embedding
map) on a reopened run, the wide layout, and the defects found on a first trial."""

import json

import pytest
from textual.widgets import ProgressBar

from lcl_tui.app.widgets.charts import LineChart, ScatterChart
from lcl_tui.app.widgets.evaluation import Heatmap
from lcl_tui.runstore import Run

from test_app_fakes import FakeTrainer, build_app, screen_text, wait_until, write_fake_run

SENTIMENT = ["very negative", "negative", "neutral", "positive", "very positive"]


@pytest.fixture
def sentiment_runs(tmp_path, monkeypatch):
    """A runs folder (relative: ./runs) with a finished five-grade sentiment run."""
    monkeypatch.chdir(tmp_path)
    write_fake_run(tmp_path / "runs", "20231114-sentiment", labels=SENTIMENT)
    return tmp_path


async def open_in_monitor(pilot, app, run_id: str) -> None:
    await pilot.pause()
    app.main_screen.open_target(f"runs/{run_id}", then="monitor")
    await wait_until(pilot, lambda: app.session.selected is not None and app.session.selected.version > 0)
    app.main_screen.redraw(force=True)
    await pilot.pause()


async def test_before_the_first_evaluation_the_curves_take_the_room_and_train_accuracy_shows(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_fake_run(tmp_path / "runs", "20231116-early", total=120, upto=6, status="running")
    app = build_app(tmp_path, runs_dir="runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_in_monitor(pilot, app, "20231116-early")
        text = screen_text(app)
        assert "train acc" in text and "no evaluation yet" not in text.lower()
        assert not app.query_one("#evaluation").display
        loss = app.query_one("#loss-chart", LineChart)
        assert loss.size.height >= 10  # was 3 rows, over 8 empty ones
        assert "train" in str(app.query_one("#accuracy-chart", LineChart).border_title)
        await pilot.press("t")  # the monitor's keys work with no evaluation view shown
        await pilot.pause()
        assert str(app.query_one("#loss-chart", LineChart).border_title).startswith("[b]Loss: ce")


async def test_every_view_is_reached_by_keys_on_a_reopened_run(sentiment_runs):
    app = build_app(sentiment_runs, runs_dir="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_in_monitor(pilot, app, "20231114-sentiment")
        assert app.query_one("#evaluation").display
        await pilot.press("a")
        await pilot.pause()
        text = screen_text(app)
        assert "Label affinity: the weighting network's mean softmax" in text
        assert "Closest pairs" in text and "very negative" in text
        heatmap = app.query_one("#affinity-map", Heatmap)
        assert heatmap.matrix == app.session.selected.view().latest_eval.affinity
        await pilot.press("a")  # again: the centroid similarity
        await pilot.pause()
        assert "Centroid similarity" in screen_text(app)
        assert app.query_one("#centroids-map", Heatmap).symmetric
        await pilot.press("e")
        await pilot.pause()
        map_chart = app.query_one("#map", ScatterChart)
        assert app.query_one("#details").current == "map" and app.focused is map_chart
        assert "very positive" in str(map_chart.border_title)
        await pilot.press("v")  # v goes round every view, back to the confusion matrix
        assert app.query_one("#details").current == "confusion"

        await pilot.press("t")
        await pilot.pause()
        assert str(app.query_one("#loss-chart", LineChart).border_title).startswith("[b]Loss: ce")
        assert "raw" in str(app.query_one("#loss-chart", LineChart).border_title)
        await pilot.press("s")  # smoothing off: only the raw curve
        await pilot.pause()
        title = str(app.query_one("#loss-chart", LineChart).border_title)
        assert "smoothed" not in title and "raw" in title  # the raw curve itself, nothing behind it
        assert app.query_one("#loss-chart", LineChart)._drawn[3] == "{}"  # no faint points


async def test_class_names_fit_the_confusion_header_at_120_columns(sentiment_runs):
    app = build_app(sentiment_runs, runs_dir="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_in_monitor(pilot, app, "20231114-sentiment")
        header = next(line for line in screen_text(app).splitlines() if "true \\ predicted" in line)
        assert "very negative" in header and "very positive" in header  # was `very nega…`


async def test_a_wide_terminal_puts_the_evaluation_beside_the_curves(sentiment_runs):
    app = build_app(sentiment_runs, runs_dir="runs")
    async with app.run_test(size=(160, 48)) as pilot:
        await open_in_monitor(pilot, app, "20231114-sentiment")
        curves, evaluation = app.query_one("#curves"), app.query_one("#evaluation")
        assert evaluation.region.x >= curves.region.right and evaluation.region.y == curves.region.y
    app = build_app(sentiment_runs, runs_dir="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_in_monitor(pilot, app, "20231114-sentiment")
        curves, evaluation = app.query_one("#curves"), app.query_one("#evaluation")
        assert evaluation.region.y >= curves.region.bottom  # narrower: under the curves


async def test_a_run_logged_before_the_affinity_existed_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = write_fake_run(tmp_path / "runs", "20231114-old")
    lines = []
    for line in run.metrics_path.read_text().splitlines():
        event = json.loads(line)
        for key in ("affinity", "centroid_similarity", "projection", "affinity_source", "examples",
                    "selects", "seconds"):
            event.pop(key, None)
        lines.append(json.dumps(event))
    run.metrics_path.write_text("\n".join(lines) + "\n")
    assert Run(run.path).snapshot().latest_eval.affinity is None
    app = build_app(tmp_path, runs_dir="runs")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_in_monitor(pilot, app, "20231114-old")
        await pilot.press("a")
        await pilot.pause()
        assert "logged before lcl-tui recorded it" in screen_text(app)
        assert "best 96.8%" in screen_text(app)


async def test_a_failed_run_shows_its_whole_error_and_a_still_bar(tmp_path):
    error = ("data.dataset: the file holds 3 labels but the run asked for 5; check data.label_column, "
             "or give the label names in the file's header so that every row maps to a class")
    app = build_app(tmp_path, FakeTrainer(fail_with=ValueError(error)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs and app.session.queue.runs[0].state == "failed")
        app.clear_notifications()
        app.main_screen.redraw(force=True)
        await pilot.pause()
        flat = " ".join(screen_text(app).split())
        assert error.split()[-1] in flat and "every row maps to a class" in flat  # not cut at the edge
        assert app.query_one(ProgressBar).total is not None  # an indeterminate bar keeps pulsing
