"""What keeps the UI thread free: the collector leaves the engine's imports and the prompt
pane's model alone, and a Static with the same content asks for no new layout."""

import subprocess
import sys

import pytest
from textual.app import App
from textual.widgets import Static

from lcl_tui.app.widgets.static_text import update_if_changed

LOAD_AND_DROP = """
import gc, sys, weakref
from pathlib import Path
from lcl_tui.app import engine

predictor = engine.load_predictor(Path(sys.argv[1]))
assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()  # torch and transformers at least
gc.disable()  # what follows is reference counting alone: frozen objects never see the collector
model, first_weight = weakref.ref(predictor.model), weakref.ref(next(predictor.model.parameters()))
del predictor
assert model() is None and first_weight() is None, "a replaced model must be freed"
print("ok")
"""


def test_loading_the_prompt_model_freezes_what_lives_long_and_a_dropped_model_is_still_freed(stopped_run):
    # In a child: freezing the test process would keep every later test's garbage.
    done = subprocess.run([sys.executable, "-c", LOAD_AND_DROP, str(stopped_run.last_checkpoint)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def record_layouts(widget) -> list[bool]:
    """Whether each of `widget`'s refreshes from now on asks for a layout."""
    layouts: list[bool] = []
    real = widget.refresh
    widget.refresh = lambda *regions, **options: (layouts.append(bool(options.get("layout"))),
                                                  real(*regions, **options))[1]
    return layouts


@pytest.mark.asyncio
async def test_a_static_asks_for_a_layout_only_when_its_height_changes():
    class One(App):
        def compose(self):
            yield Static("step 1", id="line")

    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        line = app.query_one("#line", Static)
        layouts = record_layouts(line)
        assert update_if_changed(line, "step 1") is False  # the same: nothing at all
        assert layouts == []
        assert update_if_changed(line, "step 2") is True  # one line as before: a repaint
        assert layouts == [False]
        await pilot.pause()
        assert str(line.render()) == "step 2"
        layouts.clear()
        assert update_if_changed(line, "step 3\nval acc 61%") is True  # two lines: a layout
        assert True in layouts
        await pilot.pause()
        assert line.size.height == 2
        layouts.clear()
        update_if_changed(line, "a line far longer than the forty columns of this terminal")
        assert True not in layouts  # wrapped, it is two lines still
        await pilot.pause()
        assert line.size.height == 2


@pytest.mark.asyncio
async def test_the_footer_is_one_line_of_the_focused_keys_that_never_asks_for_a_layout():
    from textual.binding import Binding
    from textual.widgets import Input

    from lcl_tui.app.screens.main import run_clicked_key
    from lcl_tui.app.widgets.footer import KeyFooter

    explained = []

    class Plain(Input):
        pass

    class Special(Input):
        BINDINGS = [Binding("ctrl+e", "explain", "Explain", tooltip="Say why"),
                    Binding("ctrl+g", "explain", "Again"),  # the same action: shown once
                    Binding("ctrl+x", "cut_it", "Cut")]

        def action_explain(self):
            explained.append(self.id)

        def check_action(self, action, parameters):
            return None if action == "cut_it" else True  # shown, disabled

    class Form(App):
        def compose(self):
            yield Plain(id="a")
            yield Special(id="c")
            yield KeyFooter()

        async def on_key_footer_clicked(self, message):
            await run_clicked_key(self.screen, message.key)  # as MainScreen does

    app = Form()
    async with app.run_test(size=(80, 12)) as pilot:
        footer = app.query_one(KeyFooter)
        layouts = record_layouts(footer)

        def line() -> str:
            return footer.render().plain

        app.query_one("#a").focus()
        await pilot.pause()
        assert "Explain" not in line()
        assert line().endswith("▏^p palette ") and len(line()) == 80  # the palette's key at the edge
        app.query_one("#c").focus()
        await pilot.pause()
        assert " ^e Explain " in line() and "Again" not in line() and "Cut" in line()
        assert layouts and True not in layouts and not footer.children

        explain = next(span for span in footer._spans if span.shown.description == "Explain")
        await pilot.hover(footer, offset=(explain.start + 1, 0))
        assert footer.tooltip == "Say why"
        await pilot.click(footer, offset=(explain.start + 1, 0))
        assert explained == ["c"]
        rang = []
        app.bell = lambda: rang.append(True)
        cut = next(span for span in footer._spans if span.shown.description == "Cut")
        await pilot.click(footer, offset=(cut.start, 0))
        assert rang == [True] and explained == ["c"]  # a disabled key rings instead

        app.query_one("#a").focus()
        await pilot.pause()
        assert "Explain" not in line()


@pytest.mark.asyncio
async def test_a_chart_is_built_again_only_for_new_data_a_new_size_or_a_new_theme():
    from lcl_tui.app.widgets.charts import LineChart

    class Curves(App):
        def compose(self):
            yield LineChart("Loss", id="loss")

    app = Curves()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(LineChart)
        builds = []
        real = chart.plt.build
        chart.plt.build = lambda: (builds.append(1), real())[1]
        chart.show({"total": ([1, 2, 3], [1.0, 0.8, 0.7])})
        await pilot.pause()
        assert len(builds) == 1
        chart.refresh()  # a repaint (the tab shown again, a layout around it): the same build
        await pilot.pause()
        assert len(builds) == 1
        chart.show({"total": ([1, 2, 3], [1.0, 0.8, 0.7])})  # the same data
        await pilot.pause()
        assert len(builds) == 1
        chart.show({"total": ([1, 2, 3, 4], [1.0, 0.8, 0.7, 0.6])})
        await pilot.pause()
        assert len(builds) == 2
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        assert len(builds) == 3
        await pilot.resize_terminal(80, 20)
        await pilot.pause()
        assert len(builds) == 4
