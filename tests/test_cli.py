"""The command line end to end on the tiny model: train, predict, runs, datasets, presets."""

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from lcl_tui.cli import app

runner = CliRunner()


def write_preset(tmp_path, config):
    path = tmp_path / "tiny.toml"
    path.write_text(config.to_toml())
    return path


def test_train_predict_and_runs(tiny, tmp_path):
    preset = write_preset(tmp_path, tiny(loss__objective="ce"))
    runs_dir = tmp_path / "cli-runs"
    result = runner.invoke(app, ["train", str(preset), "--runs-dir", str(runs_dir), "--seed", "3",
                                 "--set", "train.epochs=3"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output
    run_dirs = list(runs_dir.iterdir())
    assert len(run_dirs) == 1
    run_id = run_dirs[0].name

    predicted = runner.invoke(app, ["predict", run_id, "i am so happy today", "--runs-dir", str(runs_dir),
                                    "--top-k", "2", "--json"])
    assert predicted.exit_code == 0, predicted.output
    row = json.loads(predicted.output.strip().splitlines()[-1])
    assert row["text"] == "i am so happy today"
    assert len(row["labels"]) == 2 and row["labels"][0]["probability"] >= row["labels"][1]["probability"]

    listed = runner.invoke(app, ["runs", "--runs-dir", str(runs_dir), "--json"])
    summary = json.loads(listed.output.strip().splitlines()[0])
    assert summary["run_id"] == run_id and summary["status"] == "completed"
    assert summary["test_accuracy"] is not None


def test_plain_lines_when_not_a_terminal(tiny, tmp_path):
    preset = write_preset(tmp_path, tiny(train__max_steps=3))
    done = subprocess.run([sys.executable, "-m", "lcl_tui.cli", "train", str(preset)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout  # no redrawn bars in a log
    assert "step 3/3" in done.stdout and "test accuracy" in done.stdout


def test_json_event_lines(tiny, tmp_path):
    preset = write_preset(tmp_path, tiny(train__max_steps=2))
    result = runner.invoke(app, ["train", str(preset), "--json"])
    kinds = [json.loads(line)["kind"] for line in result.output.splitlines() if line.startswith("{")]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "step" in kinds and "eval" in kinds


def test_datasets_and_presets_are_listed():
    datasets = runner.invoke(app, ["datasets"])
    assert datasets.exit_code == 0
    for name in ("movie-snippets-5", "trec-6", "trec-50", "vader-tweets-5"):
        assert name in datasets.output
    presets = runner.invoke(app, ["presets"])
    assert presets.exit_code == 0 and "quickstart" in presets.output and "trec-50-lcl" in presets.output


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    for args, fragment in [
        (["train", "no-such-preset"], "unknown preset 'no-such-preset'"),
        (["train", "quickstart", "--set", "loss.temperature=0"], "loss.temperature must be in [0.01, 1000]"),
        (["predict", "no-such-run", "hello", "--runs-dir", str(tmp_path)], "no run 'no-such-run'"),
    ]:
        done = subprocess.run([sys.executable, "-m", "lcl_tui.cli", *args], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], done.stderr


def test_resume_continues_a_stopped_run(tiny, tmp_path):
    import threading

    from lcl_tui.events import StepEvent
    from lcl_tui.training import train

    config = tiny(train__epochs=2)
    stop = threading.Event()
    stopped = train(config, stop=stop, subscribers=[lambda e: isinstance(e, StepEvent) and e.step == 4 and stop.set()])
    assert stopped.status == "stopped"
    result = runner.invoke(app, ["train", "--resume", stopped.run.run_id,
                                 "--runs-dir", config.output.runs_dir])
    assert result.exit_code == 0, result.output
    assert stopped.run.read_status().status == "completed"
    snapshot = stopped.run.snapshot()
    assert [s.step for s in snapshot.steps] == list(range(1, snapshot.total_steps + 1))
    again = runner.invoke(app, ["train", "--resume", stopped.run.run_id, "--runs-dir", config.output.runs_dir])
    assert again.exit_code == 2 and "already completed" in again.output


def test_sigterm_stops_gracefully_and_keeps_a_checkpoint(tiny, tmp_path):
    import signal
    import time

    from lcl_tui.runstore import RunStore

    config = tiny(train__epochs=400, train__eval_every_steps=2)
    preset = write_preset(tmp_path, config)
    process = subprocess.Popen([sys.executable, "-m", "lcl_tui.cli", "train", str(preset)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs_dir = tmp_path / "runs"
    deadline = time.time() + 240
    while time.time() < deadline:
        runs = RunStore(runs_dir).runs()
        if runs and runs[0].best_checkpoint is not None:
            break
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    run = RunStore(runs_dir).runs()[0]
    assert run.read_status().status == "stopped"
    assert run.last_checkpoint is not None and "stopping after this step" in err


def test_serve_binds_loopback_unless_told_otherwise(monkeypatch):
    import textual_serve.server

    from lcl_tui.cli import serve_command

    bound = {}

    class FakeServer:
        def __init__(self, command, host, port, title=None):
            bound.update(command=command, host=host, port=port)

        def serve(self):
            bound["served"] = True

    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert bound["host"] == "127.0.0.1" and bound["port"] == 8000 and bound["served"]
    assert "lcl_tui.cli --runs-dir runs" in bound["command"]
    refused = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "--allow-remote" in refused.output
    bound.clear()
    assert runner.invoke(app, ["serve", "--host", "0.0.0.0", "--allow-remote"]).exit_code == 0
    assert bound["host"] == "0.0.0.0"
    assert "--preset quickstart" in serve_command(Path("runs"), "quickstart")
