"""The runs list, reopening runs from disk, following a run another process writes, comparing."""

import lcl_tui.app.screens.main as main_module
from lcl_tui.app.disk_run import DiskRun
from lcl_tui.app.widgets.evaluation import ConfusionTable, PerClassTable
from lcl_tui.app.widgets.prompt import PredictionBars, PromptInput
from lcl_tui.runstore import Run

from test_app_fakes import (
    LABELS,
    build_app,
    fake_eval,
    fake_step,
    notifications,
    screen_text,
    wait_until,
    write_fake_run,
)


async def test_runs_list_opens_a_run_in_the_monitor(tmp_path):
    runs = tmp_path / "runs"
    write_fake_run(runs, "20231114-a-ce", objective="ce")
    write_fake_run(runs, "20231115-b-lcl")
    app = build_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.main_screen.runs_pane.table.row_count == 2)
        assert "20231115-b-lcl" in screen_text(app) and "completed" in screen_text(app)
        await pilot.press("down", "enter")  # newest first: the second row is the older run
        await wait_until(pilot, lambda: app.main_screen.active_tab == "monitor"
                                        and app.session.selected is not None
                                        and app.session.selected.version > 0)
        assert app.session.selected.title == "20231114-a-ce"
        await wait_until(pilot, lambda: all(part in screen_text(app)
                                            for part in ("20231114-a-ce", "step 120/120", "best 96.8%")))
        confusion = app.query_one(ConfusionTable)
        assert confusion.row_count == len(LABELS)

        await pilot.press("n")  # counts -> row shares
        await pilot.pause()
        assert confusion.normalised and "%" in str(confusion.get_cell_at((0, 1)))
        await pilot.press("v")
        await pilot.pause()
        assert app.query_one(PerClassTable).row_count == len(LABELS)
        await pilot.press("v")
        await pilot.pause()
        assert "predicted as" in screen_text(app)


async def test_compare_overlays_a_second_run(tmp_path):
    runs = tmp_path / "runs"
    write_fake_run(runs, "20231114-a")
    write_fake_run(runs, "20231115-b", total=80)
    app = build_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.main_screen.runs_pane.table.row_count == 2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.active_tab == "monitor")
        await pilot.press("f5", "down", "c")
        await wait_until(pilot, lambda: app.session.compare is not None and app.session.compare.version > 0)
        assert app.session.selected.title == "20231115-b" and app.session.compare.title == "20231114-a"
        await wait_until(pilot, lambda: "20231114-a: total" in screen_text(app))  # the overlay's legend
        await pilot.press("c")  # in the monitor: clear the overlay
        await wait_until(pilot, lambda: app.session.compare is None
                                        and "20231114-a: total" not in screen_text(app))


async def test_open_run_focuses_the_prompt_and_predicts(tmp_path):
    write_fake_run(tmp_path / "runs", "20231114-done")
    app = build_app(tmp_path, open_run="20231114-done")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.focused, PromptInput))
        assert app.main_screen.active_tab == "prompt"
        await wait_until(pilot, lambda: app.main_screen.prompt_pane.predictor is not None)
        await pilot.press(*"so happy", "enter")
        bars = app.query_one(PredictionBars)
        await wait_until(pilot, lambda: bars.labels)
        assert bars.text == "so happy" and {name for name, _ in bars.labels} <= set(LABELS)
        await pilot.press(*"gloomy", "enter")
        await wait_until(pilot, lambda: app.main_screen.prompt_pane.predict_count == 2)
        await pilot.press("up")  # the input recalls the last prompt
        assert app.focused.value == "gloomy"
        app.query_one("#history").focus()
        await pilot.press("end", "enter")  # newest first: the last line is the first prompt
        await wait_until(pilot, lambda: app.main_screen.prompt_pane.predict_count == 3)
        assert bars.text == "so happy"


async def test_a_missing_run_is_a_notification_not_a_crash(tmp_path):
    app = build_app(tmp_path, open_run="no-such-run")
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: any("no run 'no-such-run'" in n.message for n in app._notifications))
        await pilot.press("f3")
        assert app.main_screen.active_tab == "monitor"


async def test_a_run_written_by_another_process_is_followed(tmp_path, monkeypatch):
    monkeypatch.setattr(main_module, "DISK_POLL_SECONDS", 0.2)
    run = write_fake_run(tmp_path / "runs", "20231114-elsewhere", total=100, upto=30, status="running")
    app = build_app(tmp_path, open_run=str(run.path))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session.selected is not None and app.session.selected.version > 0)
        assert isinstance(app.session.selected, DiskRun) and app.session.selected.state == "running"
        await pilot.press("f3")
        await wait_until(pilot, lambda: "step 30/100" in screen_text(app))
        for step in range(31, 41):  # the other process trains on
            run.append_event(fake_step(step, 100))
        run.append_event(fake_eval(40, LABELS))
        await wait_until(pilot, lambda: "step 40/100" in screen_text(app), timeout=5)
        Run(run.path).write_status("completed")
        await wait_until(pilot, lambda: app.session.selected.state == "completed", timeout=5)


async def test_cycling_runs_with_brackets(tmp_path):
    runs = tmp_path / "runs"
    write_fake_run(runs, "20231114-a")
    write_fake_run(runs, "20231115-b")
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.main_screen.runs_pane.table.row_count == 2)
        await pilot.press("enter", "f5", "down", "enter")
        await wait_until(pilot, lambda: app.main_screen.active_tab == "monitor")
        first = app.session.selected
        await pilot.press("left_square_bracket")
        assert app.session.selected is not first
        await pilot.press("right_square_bracket")
        assert app.session.selected is first


async def test_runs_list_resumes_a_stopped_run_and_explains_one_it_cannot(tmp_path):
    from lcl_tui.events import RunFinished, RunStarted

    runs = tmp_path / "runs"
    stopped = write_fake_run(runs, "20231114-stopped", total=100, upto=40, status="stopped")
    (stopped.last_checkpoint / "training_state.json").write_text("{}")  # resumable
    write_fake_run(runs, "20231115-early", total=100, upto=40, status="stopped")  # no training state
    calls = []

    def fake_resume(run_path, runs_dir, *, stop, subscribers, threads=None):
        calls.append(run_path)
        run = Run(run_path)

        def publish(event):
            run.append_event(event)
            for subscriber in subscribers:
                subscriber(event)

        publish(RunStarted(run_id=run.run_id, label_names=LABELS, total_steps=100, device="cpu",
                           train_size=800, validation_size=100, test_size=200, objective="lcl",
                           time=0.0, resumed_from_step=40))
        for step in range(41, 101):
            publish(fake_step(step, 100))
        publish(fake_eval(100, LABELS, split="test"))
        publish(RunFinished(status="completed", step=100, elapsed_seconds=50.0))
        run.write_status("completed")

    app = build_app(tmp_path, resume_fn=fake_resume)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.main_screen.runs_pane.table.row_count == 2)
        await pilot.press("u")  # newest first: the run without a training state
        await wait_until(pilot, lambda: any("no checkpoint to resume from" in m for m in notifications(app)))
        assert not app.session.queue.runs
        await pilot.press("down", "u")
        await wait_until(pilot, lambda: app.session.queue.runs
                                        and app.session.queue.runs[0].state == "completed")
        live = app.session.queue.runs[0]
        assert calls == [stopped.path] and app.main_screen.active_tab == "monitor"
        assert app.session.selected is live
        assert [s.step for s in live.view().steps] == list(range(1, 101))
        await pilot.press("f5")
        await wait_until(pilot, lambda: "completed" in screen_text(app) and "20231114-stopped" in screen_text(app))


async def test_curves_are_thinned_again_when_the_terminal_is_resized(tmp_path):
    import ast

    from lcl_tui.app.widgets.charts import LineChart

    write_fake_run(tmp_path / "runs", "20231114-long", total=600)
    app = build_app(tmp_path, open_run="20231114-long")
    async with app.run_test(size=(80, 30)) as pilot:
        await wait_until(pilot, lambda: app.main_screen.active_tab == "prompt"
                                        and app.session.selected.version > 0)
        await pilot.press("f3")
        chart = app.query_one("#loss-chart", LineChart)

        def plotted_points() -> int:
            series = ast.literal_eval(chart._drawn[0]) if chart._drawn else {}
            return len(next(iter(series.values()), ([], []))[0])  # the loss term shown

        # One point per column of the chart, whatever its width was when the run was opened.
        await wait_until(pilot, lambda: plotted_points() == max(20, chart.size.width))
        narrow = plotted_points()
        await pilot.resize_terminal(200, 40)
        await wait_until(pilot, lambda: chart.size.width > narrow and plotted_points() == chart.size.width)
