"""The tool works once installed: presets and sweep files ship inside the package, and a
user's own ./presets and ./sweeps are found beside them (and win on a name clash)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from lcl_tui.catalog import PRESETS, SWEEPS, packaged_folder, preset_files, preset_names, sweep_files
from lcl_tui.cli import app
from lcl_tui.config import load_config, resolve_preset_path, save_config
from lcl_tui.sweep import load_sweep

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "lcl_tui", "presets", "sweeps")


def shipped(kind: str) -> set[str]:
    """What the repository's top-level folder holds, as paths inside the package."""
    folder = ROOT / kind
    return {f"lcl_tui/{kind}/{path.relative_to(folder).as_posix()}" for path in folder.rglob("*.toml")}


def test_the_wheel_holds_every_preset_and_sweep_file(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and egg-info beside the sources
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("lcl_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    presets, sweeps = shipped(PRESETS), shipped(SWEEPS)
    assert "lcl_tui/presets/quickstart.toml" in presets and "lcl_tui/sweeps/results-trec50.toml" in sweeps
    assert any("/presets/paper/" in name for name in presets)
    assert presets <= names, sorted(presets - names)
    assert sweeps <= names, sorted(sweeps - names)


def test_presets_and_sweeps_are_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./presets, no ./sweeps: only what the package holds
    assert resolve_preset_path("quickstart").parent.resolve() == packaged_folder(PRESETS).resolve()
    assert load_config("quickstart").loss.objective == "lcl"
    assert load_config("paper-ed-electra-lcl").data.dataset == "empathetic-dialogues"
    # Every preset, as `lcl-tui presets` lists them: the app's list and palette show the same.
    assert preset_names() == [entry.name for entry in preset_files()]
    assert "quickstart" in preset_names() and "paper-ed-electra-lcl" in preset_names()
    assert {"results-trec50", "paper-sst5-grid"} <= {entry.name for entry in sweep_files()}
    sweep = load_sweep("results-trec50")  # a sweep by name, as `lcl-tui sweep results-trec50`
    assert sweep.source.parent.resolve() == packaged_folder(SWEEPS).resolve()


def test_your_presets_and_sweeps_win_a_name_clash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presets").mkdir()
    assert load_config("quickstart").loss.alpha != 0.25
    save_config(load_config("quickstart").replace(**{"loss.alpha": 0.25}), tmp_path / "presets" / "quickstart.toml")
    (tmp_path / "presets" / "mine.toml").write_text('description = "my own"\n', encoding="utf-8")
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "results-trec50.toml").write_text('name = "mine"\nbase = "mine"\n')

    assert load_config("quickstart").loss.alpha == 0.25
    assert load_config("mine").description == "my own"
    names = preset_names()
    assert names.count("quickstart") == 1 and "mine" in names and "trec-50-lcl" in names
    assert load_sweep("results-trec50").name == "mine"
    assert [e.origin for e in sweep_files() if e.name == "results-trec50"] == ["sweeps"]

    listed = CliRunner().invoke(app, ["presets"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.output.splitlines() if line.strip()}
    assert "./presets/quickstart.toml" in rows["quickstart"] and "./presets/mine.toml" in rows["mine"]
    assert "packaged" in rows["trec-50-lcl"]
