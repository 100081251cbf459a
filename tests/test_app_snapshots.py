"""Snapshots of the main views, built from fixed run folders and a fake predictor.

Everything time-dependent is fixed: run start times (and TZ=UTC), the ETA (from the run's
own clock), cursor blink. Update baselines deliberately: `pytest --snapshot-update`.
"""

import time

import pytest
from textual.widgets import Input

from test_app_fakes import build_app, write_fake_run


@pytest.fixture
def fixed_world(tmp_path, monkeypatch):
    """A runs folder with three runs, relative paths, and UTC for the start times."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.chdir(tmp_path)
    write_fake_run(tmp_path / "runs", "20231114-lcl-shared", total=120)
    write_fake_run(tmp_path / "runs", "20231115-scl-joint", total=120, objective="scl", started=1_700_090_000.0)
    write_fake_run(tmp_path / "runs", "20231116-ce-live", total=120, upto=60, status="running",
                   objective="ce", started=1_700_180_000.0)
    yield tmp_path
    monkeypatch.delenv("TZ")
    time.tzset()


def settle(*, open_run=None, compare=None, then=None, keys=()):
    """A run_before that waits for the workers, freezes the cursor, and opens runs."""

    async def run_before(pilot):
        app = pilot.app
        await pilot.pause()
        await app.workers.wait_for_complete()
        if open_run:
            app.main_screen.open_target(f"runs/{open_run}", then=then)
            await app.workers.wait_for_complete()
        if compare:
            app.main_screen.open_target(f"runs/{compare}", compare=True)
            await app.workers.wait_for_complete()
            app.clear_notifications()
        for widget in app.query(Input):
            widget.cursor_blink = False
        await pilot.press(*keys)
        await app.workers.wait_for_complete()
        app.main_screen.redraw(force=True)
        await pilot.pause(0.1)

    return run_before


def app_for(world, **kwargs):
    return build_app(world, runs_dir="runs", **kwargs)


def test_setup_form_80x24(fixed_world, snap_compare):
    assert snap_compare(app_for(fixed_world), terminal_size=(80, 24), run_before=settle())


def test_setup_form_shows_errors_next_to_fields(fixed_world, snap_compare):
    async def run_before(pilot):
        await settle()(pilot)
        app = pilot.app
        app.main_screen.setup_pane.field("loss.alpha").control.value = "1.5"
        app.main_screen.setup_pane.field("optim.lr").control.value = "fast"
        await pilot.pause()
        app.main_screen.setup_pane.scroll_to_widget(app.main_screen.setup_pane.field("optim.lr"), animate=False)
        await pilot.pause()

    assert snap_compare(app_for(fixed_world), terminal_size=(100, 30), run_before=run_before)


def test_monitor_finished_run_80x24(fixed_world, snap_compare):
    assert snap_compare(app_for(fixed_world), terminal_size=(80, 24),
                        run_before=settle(open_run="20231114-lcl-shared", then="monitor"))


def test_monitor_running_run_row_normalised_120x36(fixed_world, snap_compare):
    assert snap_compare(app_for(fixed_world), terminal_size=(120, 36),
                        run_before=settle(open_run="20231116-ce-live", then="monitor", keys=("n",)))


def test_monitor_compare_and_per_class_120x36(fixed_world, snap_compare):
    assert snap_compare(app_for(fixed_world), terminal_size=(120, 36),
                        run_before=settle(open_run="20231115-scl-joint", compare="20231114-lcl-shared",
                                          then="monitor", keys=("v",)))


def test_monitor_confused_pairs_100x30(fixed_world, snap_compare):
    assert snap_compare(app_for(fixed_world), terminal_size=(100, 30),
                        run_before=settle(open_run="20231114-lcl-shared", then="monitor", keys=("v", "v")))


def test_runs_list_100x24(fixed_world, snap_compare):
    assert snap_compare(app_for(fixed_world), terminal_size=(100, 24), press=["f5"],
                        run_before=settle())


def test_prompt_pane_with_prediction_80x24(fixed_world, snap_compare):
    async def run_before(pilot):
        await settle(open_run="20231114-lcl-shared", then="prompt")(pilot)
        app = pilot.app
        while app.main_screen.prompt_pane.predictor is None:
            await pilot.pause(0.05)
        await pilot.press(*"what a day", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)

    assert snap_compare(app_for(fixed_world), terminal_size=(80, 24), run_before=run_before)


def test_sweep_table_after_a_sweep_100x24(fixed_world, snap_compare):
    from test_app_sweep import ScoringTrainer, write_sweep

    sweep_file = write_sweep(fixed_world, seeds=(1, 2))

    async def run_before(pilot):
        app = pilot.app
        await settle()(pilot)
        app.main_screen.start_sweep(sweep_file)
        # The last message of a sweep is the "ended" notification: clear it once it is up.
        while not any("ended" in n.message for n in app._notifications):
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        app.clear_notifications()
        await pilot.press("f6")
        await pilot.pause(0.1)

    assert snap_compare(app_for(fixed_world, trainer=ScoringTrainer(steps=5)), terminal_size=(100, 24),
                        run_before=run_before)


SENTIMENT = ["very negative", "negative", "neutral", "positive", "very positive"]


@pytest.fixture
def sentiment_world(fixed_world):
    """The fixed world plus a finished five-grade sentiment run (long class names)."""
    write_fake_run(fixed_world / "runs", "20231117-sentiment", total=120, labels=SENTIMENT,
                   started=1_700_200_000.0)
    return fixed_world


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_monitor_label_affinity(sentiment_world, snap_compare, size):
    assert snap_compare(app_for(sentiment_world), terminal_size=size,
                        run_before=settle(open_run="20231117-sentiment", then="monitor", keys=("a",)))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_monitor_embedding_map(sentiment_world, snap_compare, size):
    assert snap_compare(app_for(sentiment_world), terminal_size=size,
                        run_before=settle(open_run="20231117-sentiment", then="monitor", keys=("e",)))


def test_monitor_centroid_similarity_120x36(sentiment_world, snap_compare):
    assert snap_compare(app_for(sentiment_world), terminal_size=(120, 36),
                        run_before=settle(open_run="20231117-sentiment", then="monitor", keys=("a", "a")))


def test_monitor_before_the_first_evaluation_80x24(fixed_world, snap_compare):
    write_fake_run(fixed_world / "runs", "20231118-early", total=120, upto=8, status="running",
                   started=1_700_300_000.0)
    assert snap_compare(app_for(fixed_world), terminal_size=(80, 24),
                        run_before=settle(open_run="20231118-early", then="monitor"))
