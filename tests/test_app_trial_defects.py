"""The defects a first trial of the app found (issue 9), each through the keyboard."""

import pytest
from textual.widgets import OptionList, Select

from lcl_tui.app.screens.dialogs import ConfirmDialog
from lcl_tui.app.widgets.prompt import PredictionBars
from lcl_tui.app.widgets.setup_form import SetupPane
from lcl_tui.catalog import preset_files

from test_app_fakes import (
    FakeTrainer,
    build_app,
    notifications,
    screen_text,
    type_into,
    wait_until,
    write_fake_run,
)
from test_app_queue import wait_for_palette_hit


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_quit_question_is_read_whole(tmp_path, size):
    app = build_app(tmp_path, FakeTrainer(steps=10_000, step_seconds=0.05))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs and app.session.queue.runs[0].state == "running")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and "Quit (y)" in screen_text(app))
        # What the question's label shows on screen: it wraps inside the dialog.
        question = app.screen.query_one(".dialog-title").region
        lines = screen_text(app).splitlines()[question.y:question.bottom]
        flat = " ".join(" ".join(line[question.x:question.right] for line in lines).split())
        assert flat.endswith("what they wrote stays in the runs folder. Quit?")  # was "… what they wrot"
        await pilot.press("y")


async def test_resume_from_the_monitor_for_a_run_opened_from_disk(tmp_path, monkeypatch):
    """`--open RUN`, F3, `u`: it resumes (it said "Not resumed / no run 'disk:/…'")."""
    monkeypatch.chdir(tmp_path)
    run = write_fake_run(tmp_path / "runs", "20231114-stopped", total=100, upto=40, status="stopped")
    (run.last_checkpoint / "training_state.json").write_text("{}")
    resumed = []

    def resume(run_path, runs_dir, *, stop, subscribers, threads=None):
        resumed.append(run_path)

    app = build_app(tmp_path, runs_dir="runs", open_run="20231114-stopped", resume_fn=resume)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session.selected is not None)
        await pilot.press("f3", "u")
        await wait_until(pilot, lambda: resumed)
        assert [path.resolve() for path in resumed] == [run.path.resolve()]
        assert not any("Not resumed" in message or "no run" in message for message in notifications(app))


async def test_a_long_prompt_keeps_its_answer_in_view_and_says_it_was_cut(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_fake_run(tmp_path / "runs", "20231114-a")
    write_fake_run(tmp_path / "runs", "20231115-b")
    app = build_app(tmp_path, runs_dir="runs", open_run="20231114-a")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.main_screen.prompt_pane
        await wait_until(pilot, lambda: pane.predictor is not None)
        long_prompt = " ".join(["this film is long and slow"] * 100)  # 2,699 characters, 602 tokens
        pane.query_one("#prompt-input").value = long_prompt
        await pilot.press("enter")
        await wait_until(pilot, lambda: pane.predict_count == 1)
        await pilot.pause()
        bars = pane.query_one(PredictionBars)
        top = bars.labels[0][0]
        text = screen_text(app)
        assert f"{top} " in text and "%" in text  # the answer is on screen, under a one-line prompt
        assert "read only the first 64 tokens of 602" in " ".join(text.split())
        history = pane.query_one("#history", OptionList)
        assert "20231114-a" in str(history.get_option_at_index(0).prompt)  # which run answered

        # Another run: the last run's answer goes, and its history entry keeps its run's name.
        app.main_screen.open_target("20231115-b")
        await pilot.pause()
        assert bars.labels == [] and "20231115-b answers" in bars.note
        assert "20231114-a" in str(history.get_option_at_index(0).prompt)


async def test_an_unknown_dataset_name_is_caught_in_the_form(tmp_path):
    trainer = FakeTrainer(steps=3)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 40)) as pilot:
        setup = app.query_one(SetupPane)
        await wait_until(pilot, lambda: setup.datasets)  # the registry's list is in
        dataset = setup.field("data.dataset")
        await type_into(pilot, dataset.control, "movie-snipets-5")
        await pilot.pause()
        assert dataset.has_class("-invalid")
        assert "unknown dataset 'movie-snipets-5'" in screen_text(app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.session.queue.runs == [] and trainer.calls == 0  # before Ctrl+T, not after
        await type_into(pilot, dataset.control, "hub:someone/their-data")
        await pilot.pause()
        assert not dataset.has_class("-invalid")


async def test_the_form_names_alpha_right_and_sets_how_often_to_evaluate(tmp_path):
    trainer = FakeTrainer(steps=3)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 60)) as pilot:
        setup = app.query_one(SetupPane)
        await pilot.pause()
        text = screen_text(app)
        assert "alpha (weight of the CE terms)" in text and "contrastive weight" not in text
        await type_into(pilot, setup.field("train.eval_every_steps").control, "25")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs and app.session.queue.runs[0].state == "completed")
        assert app.session.queue.runs[0].config.train.eval_every_steps == 25


async def test_every_preset_is_in_the_setup_list_and_the_palette(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        select = app.query_one("#preset-select", Select)
        listed = [str(value) for _, value in select._options if value is not Select.NULL]
        assert listed == [entry.name for entry in preset_files()]  # as `lcl-tui presets`, paper ones too
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"load preset paper-sst5-electra-lcl")
        await wait_for_palette_hit(pilot, app, "Load preset paper-sst5-electra-lcl")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one(SetupPane).preset_name == "paper-sst5-electra-lcl")
