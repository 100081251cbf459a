"""The engine runs without Textual, and the CLI's help and the app's start import no torch.

Two checks of one rule: the import contracts in pyproject.toml (`lint-imports`, static,
every import statement, lazy ones too) and a fresh interpreter that imports every engine
module found by walking the package (what really loads)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import lcl_tui

ROOT = Path(__file__).resolve().parent.parent
TEXTUAL = ("textual", "textual_plotext", "textual_serve")


def engine_modules() -> list[str]:
    """Every module of the package outside lcl_tui.app, as the package holds them now."""
    found = ["lcl_tui"]
    for info in pkgutil.walk_packages(lcl_tui.__path__, "lcl_tui."):
        if info.name != "lcl_tui.app" and not info.name.startswith("lcl_tui.app."):
            found.append(info.name)
    return sorted(found)


def modules_after_import(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(output.split())


def test_the_walk_finds_the_engine_and_leaves_the_app_out():
    modules = engine_modules()
    for expected in ("lcl_tui.training", "lcl_tui.sweep", "lcl_tui.training_state", "lcl_tui.atomic",
                     "lcl_tui.quiet", "lcl_tui.errors", "lcl_tui.data.hub", "lcl_tui.cli"):
        assert expected in modules
    assert not any(name.startswith("lcl_tui.app") for name in modules)


def test_no_engine_module_loads_textual():
    """One interpreter imports the engine module by module and names the first that loads Textual."""
    code = (
        "import importlib, sys\n"
        f"for name in {engine_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"    loaded = [m for m in sys.modules if m.split('.')[0] in {TEXTUAL!r}]\n"
        "    if loaded:\n"
        "        print(name, 'loads', loaded[0]); break\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "", result.stdout


def test_cli_help_imports_no_torch_and_no_textual():
    loaded = modules_after_import("import lcl_tui.cli")
    assert "torch" not in loaded and "transformers" not in loaded and "textual" not in loaded


def test_the_import_contracts_hold():
    """pyproject.toml's contracts: no Textual outside the app, the engine never imports the app,
    the app's models stay Textual-free, losses imports torch only."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
