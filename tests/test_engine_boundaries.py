"""The engine runs without Textual, and the CLI's help and the app's start import no torch."""

import subprocess
import sys

import pytest

ENGINE_MODULES = [
    "lcl_tui.config", "lcl_tui.events", "lcl_tui.runstore", "lcl_tui.losses", "lcl_tui.models",
    "lcl_tui.batching", "lcl_tui.objectives", "lcl_tui.training", "lcl_tui.predict", "lcl_tui.data",
    "lcl_tui.metrics", "lcl_tui.rnn", "lcl_tui.resume", "lcl_tui.console",
]


def modules_after_import(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(output.split())


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engine_module_never_imports_textual(module):
    loaded = modules_after_import(f"import {module}")
    assert not any(name == "textual" or name.startswith("textual.") for name in loaded)


def test_cli_help_imports_no_torch_and_no_textual():
    loaded = modules_after_import("import lcl_tui.cli")
    assert "torch" not in loaded and "transformers" not in loaded and "textual" not in loaded
