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


@pytest.mark.asyncio
async def test_a_static_shown_the_same_content_asks_for_no_layout():
    class One(App):
        def compose(self):
            yield Static("step 1", id="line")

    app = One()
    async with app.run_test() as pilot:
        line = app.query_one("#line", Static)
        layouts = []
        real = line.refresh
        line.refresh = lambda *a, **k: (layouts.append(k.get("layout")), real(*a, **k))[1]
        assert update_if_changed(line, "step 1") is False
        assert layouts == []
        assert update_if_changed(line, "step 2") is True
        assert layouts == [True]
        await pilot.pause()
        assert str(line.render()) == "step 2"
