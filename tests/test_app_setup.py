"""The setup form through the keyboard: validation next to fields, presets, datasets, start."""

from textual.widgets import Input, Select, TabbedContent

from lcl_tui.app.widgets.setup_form import SetupPane
from lcl_tui.config import RunConfig, load_config, save_config

from test_app_fakes import (
    FakeTrainer,
    build_app,
    notifications,
    screen_text,
    type_into,
    wait_until,
)


async def test_invalid_value_shows_next_to_its_field_and_blocks_training(tmp_path):
    trainer = FakeTrainer(steps=5)
    app = build_app(tmp_path, trainer)
    async with app.run_test(size=(100, 40)) as pilot:
        setup = app.query_one(SetupPane)
        alpha = setup.field("loss.alpha")
        await type_into(pilot, alpha.control, "1.5")
        await pilot.pause()
        assert alpha.has_class("-invalid")
        assert "loss.alpha must be in [0, 1]" in str(alpha.query_one(".field-error").render())
        assert "loss.alpha must be in [0, 1]" in screen_text(app)
        # Move away, then try to train: nothing starts and focus returns to the bad field.
        setup.field("train.seed").control.focus()
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.session.queue.runs == [] and trainer.calls == 0
        assert app.focused is alpha.control
        assert any("loss.alpha" in message for message in notifications(app))

        await pilot.press("end", "ctrl+u", *"0.2")
        await pilot.pause()
        assert not alpha.has_class("-invalid")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.session.queue.runs
                                        and app.session.queue.runs[0].state == "completed")
        assert app.session.queue.runs[0].config.loss.alpha == 0.2
        assert app.query_one(TabbedContent).active == "monitor"


async def test_several_bad_fields_are_all_marked(tmp_path):
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        setup = app.query_one(SetupPane)
        await type_into(pilot, setup.field("optim.lr").control, "fast")
        await type_into(pilot, setup.field("train.batch_size").control, "0")
        await type_into(pilot, setup.field("train.device").control, "tpu")
        await pilot.pause()
        invalid = {f.spec.key for f in setup.query(".config-field.-invalid")}
        assert invalid == {"optim.lr", "train.batch_size", "train.device"}


async def test_save_and_open_a_preset_with_the_keyboard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short relative paths: typing is a key press per character
    app = build_app(tmp_path)
    target = tmp_path / "mine.toml"
    async with app.run_test(size=(100, 40)) as pilot:
        setup = app.query_one(SetupPane)
        await type_into(pilot, setup.field("name").control, "mine")
        await type_into(pilot, setup.field("loss.temperature").control, "0.07")
        await pilot.press("ctrl+s")
        await pilot.pause()
        dialog_input = app.screen.query_one(Input)
        assert dialog_input.value.endswith("presets/mine.toml")  # the default: presets/<name>.toml
        await pilot.press("end", "ctrl+u", *"mine.toml", "enter")
        await wait_until(pilot, target.exists)
        assert load_config(target).loss.temperature == 0.07

        await type_into(pilot, setup.field("loss.temperature").control, "0.5")
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press(*"mine.toml", "enter")

        await pilot.pause()
        assert setup.field("loss.temperature").value == "0.07"
        assert setup.field("name").value == "mine"


async def test_clicking_a_key_in_the_footer_presses_it(tmp_path, monkeypatch):
    from lcl_tui.app.widgets.footer import KeyFooter

    monkeypatch.chdir(tmp_path)
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        footer = app.query_one(KeyFooter)
        await pilot.pause()
        save = next(span for span in footer._spans if span.shown.description == "Save preset")
        await pilot.click(footer, offset=(save.start + 1, 0))
        await pilot.pause()
        assert app.screen.query_one(Input).value.endswith(".toml")  # the save dialog, as ctrl+s opens it


async def test_registry_dataset_and_local_file_columns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "my.csv").write_text("text,grade\nfine,3\n")
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        setup = app.query_one(SetupPane)
        assert not setup.field("data.text_column").display  # a registry name: columns are fixed
        select = setup.query_one("#dataset-select", Select)
        select.focus()
        await pilot.press("enter", "down", "enter")  # the second registry entry
        await pilot.pause()
        assert setup.field("data.dataset").value == "emotions-6"
        assert "Tweets by emotion" in str(setup.query_one("#dataset-info").render())

        await type_into(pilot, setup.field("data.dataset").control, "data/my.csv")
        await pilot.pause()
        assert setup.field("data.text_column").display and setup.field("data.label_column").display
        await type_into(pilot, setup.field("data.label_column").control, "grade")
        await pilot.pause()
        assert setup.result.ok and setup.result.config.data.label_column == "grade"

        await type_into(pilot, setup.field("data.dataset").control, "data/missing.csv")
        await pilot.pause()
        assert "no file or folder at data/missing.csv" in setup.field("data.dataset").error_text


async def test_loss_choice_sets_objective_and_weighting(tmp_path):
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        setup = app.query_one(SetupPane)
        loss = setup.field("loss").control
        loss.focus()
        await pilot.press("enter", "home", "enter")  # the first choice: cross-entropy
        await pilot.pause()
        assert setup.result.config.loss.objective == "ce"
        await pilot.press("enter", "end", "enter")  # the last: LCL with a shared head
        await pilot.pause()
        assert setup.result.config.loss.objective == "lcl"
        assert setup.result.config.model.weighting == "shared"


async def test_preset_with_start_trains_at_once(tmp_path):
    preset = tmp_path / "quick.toml"
    save_config(RunConfig(name="quick").replace(**{"train.epochs": 1}), preset)
    trainer = FakeTrainer(steps=8)
    app = build_app(tmp_path, trainer, config=None, preset=str(preset), start=True)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: trainer.calls == 1 and not app.session.queue.active)
        assert app.session.queue.runs[0].config.name == "quick"
        assert app.query_one(TabbedContent).active == "monitor"
