"""The app opens before torch/transformers load, and exposes what the CLI calls."""

import inspect
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_and_build_app_leaves_torch_and_transformers_unloaded(tmp_path):
    code = (
        "import sys\n"
        "import lcl_tui.app\n"
        "from lcl_tui.app import make_app\n"
        f"app = make_app(runs_dir={str(tmp_path)!r})\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout


def test_importing_the_package_does_not_import_textual():
    code = "import sys, lcl_tui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_run_app_takes_what_the_cli_passes():
    from lcl_tui.app import run_app

    parameters = inspect.signature(run_app).parameters
    assert list(parameters) == ["preset", "start", "open_run", "runs_dir", "mouse", "sweep_file"]


def test_run_app_passes_mouse_to_app_run(monkeypatch, tmp_path):
    import lcl_tui.app.app as app_module

    seen = {}

    def fake_run(self, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr(app_module.LclTuiApp, "run", fake_run)
    from lcl_tui.app import run_app

    run_app(runs_dir=tmp_path, mouse=False)
    assert seen == {"mouse": False}


def test_engine_modules_do_not_import_textual():
    code = (
        "import sys\n"
        "import lcl_tui.config, lcl_tui.events, lcl_tui.runstore, lcl_tui.training, lcl_tui.predict\n"
        "print('textual' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_widgets_post_messages_instead_of_reaching_up_into_the_app():
    """A pane asks by message; only the screen calls down. No `self.app.` call and no
    `app.` binding in a widget, and no Textual in the session."""
    import re

    widgets = ROOT / "lcl_tui" / "app" / "widgets"
    # Questions that change nothing, asked by the footer as Textual's own Footer asks them.
    questions = ("self.app.get_key_display(", "self.app.ENABLE_COMMAND_PALETTE", "self.app.COMMAND_PALETTE_BINDING")
    for path in widgets.glob("*.py"):
        text = path.read_text()
        for question in questions:
            text = text.replace(question, "")
        assert "self.app." not in text, path.name
        assert not re.search(r"Binding\([^)]*[\"'](app|screen)\.", text), path.name
    code = "import sys, lcl_tui.app.session, lcl_tui.app.redraw; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr
