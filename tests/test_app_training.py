"""The app with the real engine and the tiny random BERT (lcl_tui.testing): seconds on a CPU.

Start, watch, ask the prompt pane, stop, fail, and reopen the run from disk, all by keys.
Each run trains in a child process, as in the app a user starts.
"""

import shutil

from lcl_tui.app.app import make_app
from lcl_tui.app.disk_run import DiskRun
from lcl_tui.app.widgets.evaluation import ConfusionTable
from lcl_tui.app.widgets.prompt import PredictionBars, PromptInput
from lcl_tui.testing import CLASS_CUES

from test_app_fakes import (  # noqa: F401
    notifications,
    screen_text,
    tiny_app_config,
    tiny_root,
    wait_until,
)


def real_app(config, tmp_path, **kwargs):
    return make_app(config=config, runs_dir=tmp_path / "runs", warm_up=False, **kwargs)


async def test_train_watch_ask_and_reopen_the_tiny_model(tiny_root, tmp_path):
    config = tiny_app_config(tiny_root, tmp_path)
    app = real_app(config, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")  # returns once the app is idle: training may be done already
        live = app.session.queue.runs[0]
        await wait_until(pilot, lambda: live.state == "completed", timeout=120)
        await wait_until(pilot, lambda: all(part in screen_text(app).replace("\n ", " ")
                                            for part in (live.run.run_id, "completed", "test acc")))
        assert app.query_one(ConfusionTable).row_count == len(CLASS_CUES)
        # The monitor shows the trainer's state from the snapshot; the notification follows the
        # run's RunStateChanged message, which a loaded machine may deliver a frame later.
        await wait_until(pilot, lambda: any("Finished" in m for m in notifications(app)))

        await pilot.press("f4")
        assert isinstance(app.focused, PromptInput)
        await wait_until(pilot, lambda: app.main_screen.prompt_pane.predictor is not None, timeout=30)
        await pilot.press(*"so happy", "enter")
        bars = app.query_one(PredictionBars)
        await wait_until(pilot, lambda: bars.labels, timeout=30)
        assert {name for name, _ in bars.labels} <= set(CLASS_CUES)
        assert abs(sum(p for _, p in bars.labels) - 1.0) < 1e-3  # every class: the probabilities sum to 1

        await pilot.press("f5")
        await wait_until(pilot, lambda: app.main_screen.runs_pane.table.row_count == 1)
        assert "completed" in screen_text(app)
    run_id = live.run.run_id
    steps = len(live.view().steps)

    reopened = make_app(open_run=run_id, runs_dir=tmp_path / "runs", warm_up=False)
    async with reopened.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: isinstance(reopened.session.selected, DiskRun)
                                        and reopened.session.selected.version > 0)
        assert isinstance(reopened.focused, PromptInput)
        assert len(reopened.session.selected.view().steps) == steps
        await pilot.press(*"furious", "enter")
        bars = reopened.query_one(PredictionBars)
        await wait_until(pilot, lambda: bars.labels, timeout=30)
        await pilot.press("f3")
        await wait_until(pilot, lambda: f"step {steps}/" in screen_text(reopened))


async def test_stop_ends_a_real_run_within_a_step(tiny_root, tmp_path):
    config = tiny_app_config(tiny_root, tmp_path, train__epochs=500)
    app = real_app(config, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs
                                        and len(app.session.queue.runs[0].view().steps) >= 3, timeout=60)
        live = app.session.queue.runs[0]
        steps_when_asked: list[int] = []
        original_set = live.stop.set

        def set_and_record():
            original_set()  # the child is signalled here...
            # ...having written at most this many steps (it writes each before printing it)
            steps_when_asked.append(len(live.run.snapshot().steps))

        live.stop.set = set_and_record
        await pilot.press("x")
        await wait_until(pilot, lambda: live.state == "stopped" and not live.occupies_slot, timeout=30)
        assert live.run.read_status().status == "stopped"
        # The step under way when stop was asked may finish; no other starts.
        assert steps_when_asked and len(live.view().steps) <= steps_when_asked[0] + 1
        assert live.run.last_checkpoint is not None  # kept to resume from


async def test_a_data_file_the_form_cannot_judge_fails_the_run_not_the_app(tiny_root, tmp_path):
    # The form checks that the file exists; only loading it shows the label column is missing.
    data = tmp_path / "doomed.csv"
    data.write_text((tiny_root / "synthetic.csv").read_text().replace("text,label", "text,grade", 1))
    config = tiny_app_config(tiny_root, tmp_path, data__dataset=str(data))
    app = real_app(config, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.main_screen.setup_pane.validate_form().ok
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs[0].state == "failed", timeout=60)
        await wait_until(pilot, lambda: any("label" in m for m in notifications(app)))
        assert app.session.queue.runs[0].error in notifications(app)
        await pilot.press("f2")  # the app keeps working
        assert app.main_screen.active_tab == "setup"


async def test_a_dataset_deleted_after_the_form_checked_it_is_caught_at_start(tiny_root, tmp_path):
    data = tmp_path / "doomed.csv"
    shutil.copy(tiny_root / "synthetic.csv", data)
    app = real_app(tiny_app_config(tiny_root, tmp_path, data__dataset=str(data)), tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.main_screen.setup_pane.validate_form().ok
        data.unlink()
        await pilot.press("ctrl+t")  # the form re-checks: shown next to the field, nothing starts
        await pilot.pause()
        assert app.session.queue.runs == [] and app.main_screen.active_tab == "setup"
        assert "no file or folder" in app.main_screen.setup_pane.field("data.dataset").error_text


async def test_a_training_process_that_crashes_is_reported(tiny_root, tmp_path, monkeypatch):
    import sys

    from lcl_tui.app import training_process

    # The child dies with a traceback before it can say anything (the CLI never got that far).
    crash = "import sys; print('Traceback (most recent call last):', file=sys.stderr); " \
            "raise RuntimeError('CUDA went away')"
    monkeypatch.setattr(training_process, "CHILD_COMMAND", (sys.executable, "-c", crash))
    app = real_app(tiny_app_config(tiny_root, tmp_path), tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "RuntimeError: CUDA went away" in notifications(app), timeout=30)
        assert app.session.queue.runs[0].state == "failed"
        await pilot.press("f2")  # the app keeps working
        assert app.main_screen.active_tab == "setup"


async def test_a_sweep_of_the_tiny_model_trains_in_the_app_and_matches_the_cli_table(tiny_root, tmp_path):
    from lcl_tui.config import save_config
    from lcl_tui.runstore import RunStore
    from lcl_tui.sweep import collect_results, load_sweep, results_table

    save_config(tiny_app_config(tiny_root, tmp_path, train__epochs=1), tmp_path / "base.toml")
    sweep_file = tmp_path / "tiny.toml"
    sweep_file.write_text('name = "tiny"\nbase = "base.toml"\nseeds = [1, 2]\n'
                          '[grid]\nloss.objective = ["ce", "lcl"]\n')
    app = real_app(tiny_app_config(tiny_root, tmp_path), tmp_path, sweep_file=str(sweep_file))
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: any("Sweep tiny ended" in m for m in notifications(app)), timeout=240)
        assert app.session.sweep.counts()["completed"] == 4
        markdown, _ = app.session.sweep.results_paths
        # The app's table is the CLI's: the same function over the same run folders.
        expected = results_table(collect_results(load_sweep(sweep_file), RunStore(tmp_path / "runs")))
        assert expected in markdown.read_text() and "| 2 |" in expected
        assert "objective=ce" in screen_text(app) and "2 completed" in screen_text(app)


async def test_a_stopped_run_resumes_in_the_app_and_its_curves_continue(tiny_root, tmp_path):
    config = tiny_app_config(tiny_root, tmp_path, train__epochs=3)
    app = real_app(config, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs
                                        and len(app.session.queue.runs[0].view().steps) >= 3, timeout=60)
        await pilot.press("x")
        await wait_until(pilot, lambda: app.session.queue.runs[0].state == "stopped"
                         and not app.session.queue.runs[0].occupies_slot, timeout=60)
        first = app.session.queue.runs[0]
        stopped_at = len(first.view().steps)
        assert stopped_at < first.view().total_steps
        await pilot.press("f3", "u")  # resume the selected run
        await wait_until(pilot, lambda: any("Resuming" in m and f"from step {stopped_at}" in m
                                            for m in notifications(app)))
        await wait_until(pilot, lambda: len(app.session.queue.runs) == 2
                                        and app.session.queue.runs[1].state == "completed"
                         and not app.session.queue.runs[1].occupies_slot, timeout=90)
        resumed = app.session.queue.runs[1]
        steps = [s.step for s in resumed.view().steps]
        assert steps == list(range(1, resumed.view().total_steps + 1))  # no gap, no repeat
        assert resumed.run.path == first.run.path and resumed.run.read_status().status == "completed"
        assert resumed.view().test_eval is not None
        await pilot.press("u")  # a completed run: one line, the app goes on
        await wait_until(pilot, lambda: any("already completed" in m for m in notifications(app)))
