"""The CLI's tables in a pipe or a log: every value whole, one tab-separated line a row."""

import json
import os
import subprocess
import sys

from lcl_tui.catalog import preset_files

from test_app_fakes import write_fake_run

LONG_NAME = "20261202-153012-label-aware-contrastive-on-movie-snippets-with-a-long-name"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The command as a user runs it into `| cat`: stdout is a pipe, not a terminal."""
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "lcl_tui.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def test_runs_in_a_pipe_prints_every_run_id_and_status_whole(tmp_path):
    runs = tmp_path / "runs"
    write_fake_run(runs, LONG_NAME)
    stopped = write_fake_run(runs, "20261203-090000-interrupted-run-whose-process-died", upto=30, status="running")
    status = json.loads(stopped.status_path.read_text())
    stopped.status_path.write_text(json.dumps({**status, "pid": 2 ** 22 + 12345}))  # no such process
    done = cli("runs", "--runs-dir", str(runs))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["run", "status"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert set(rows) == {LONG_NAME, "20261203-090000-interrupted-run-whose-process-died"}
    assert rows[LONG_NAME][1] == "completed"
    assert rows["20261203-090000-interrupted-run-whose-process-died"][1] == "interrupted"
    assert all(len(row) == 7 for row in rows.values())
    assert "…" not in done.stdout


def test_presets_and_datasets_in_a_pipe_are_whole_rows(tmp_path):
    presets = cli("presets", cwd=tmp_path)
    assert presets.returncode == 0, presets.stderr
    names = [line.split("\t")[0] for line in presets.stdout.splitlines()[1:]]
    assert names == [entry.name for entry in preset_files()]
    assert "paper-sst5-electra-lcl" in names and "…" not in presets.stdout
    assert "packaged presets:" in presets.stderr  # the note under the table stays out of the rows
    datasets = cli("datasets")
    assert datasets.returncode == 0
    rows = [line.split("\t") for line in datasets.stdout.splitlines()]
    assert rows[0] == ["name", "labels", "rows", "source", "description"]
    assert all(len(row) == 5 for row in rows) and "movie-snippets-5" in [row[0] for row in rows]
