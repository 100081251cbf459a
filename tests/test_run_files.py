"""The files of a run folder: logs that survive tears, one file mode throughout, and
messages that name what is missing."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading

import pytest

from lcl_tui.atomic import append_line, atomic_write_text
from lcl_tui.errors import UserError
from lcl_tui.events import StepEvent
from lcl_tui.resume import resumable_checkpoint, resume_training
from lcl_tui.runstore import Run
from lcl_tui.training import train

# --- torn lines -------------------------------------------------------------------------------


def test_an_append_after_a_torn_line_starts_on_a_fresh_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_line(path, '{"kind": "step", "step": 1}')
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"kind": "step", "st')  # a kill mid-write: no newline
    append_line(path, '{"kind": "started"}')
    assert path.read_text().split("\n") == ['{"kind": "step", "step": 1}', '{"kind": "step", "st',
                                            '{"kind": "started"}', ""]
    append_line(path, "x")  # a whole file: no extra blank line
    assert path.read_text().endswith('{"kind": "started"}\nx\n')


def test_a_resumed_run_after_a_torn_line_keeps_its_started_event(stopped_run, caplog):
    """The issue's case: the resumed run's `started` used to land on the torn line, and both
    were lost. Now only the torn line is, and the reader says so and counts it."""
    with open(stopped_run.metrics_path, "a", encoding="utf-8") as handle:
        handle.write('{"kind": "step", "step": 4, "lo')
    resumed = resume_training(stopped_run.run_id, stopped_run.path.parent)
    assert resumed.status == "completed", resumed.error
    caplog.set_level(logging.WARNING, logger="lcl_tui.runstore")
    events = stopped_run.read_events()
    assert [e.kind for e in events if e.kind in ("started", "finished")] == ["started", "finished"] * 2
    assert stopped_run.torn_lines == 1
    assert f"run {stopped_run.run_id}: skipped 1 unreadable line(s) in metrics.jsonl" in caplog.text
    snapshot = stopped_run.snapshot()
    assert [s.step for s in snapshot.steps] == list(range(1, snapshot.total_steps + 1))


def test_a_whole_log_counts_no_torn_lines(stopped_run):
    stopped_run.read_events()
    assert stopped_run.torn_lines == 0


# --- file modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_every_file_in_a_run_folder_has_the_mode_open_gives(tiny, umask):
    """Atomic writes (config, status, split, best/last), the log, the lock and the checkpoint
    files all come out 0666 less the umask, folders 0777 less it: a team's group can read
    (0o022) or write (0o002) all of a run alike."""
    old = os.umask(umask)
    try:
        stop = threading.Event()
        result = train(tiny(train__epochs=3, train__eval_every_steps=2, loss__objective="lcl"), stop=stop,
                       subscribers=[lambda e: isinstance(e, StepEvent) and e.step == 3 and stop.set()])
        resume_training(result.run.run_id, result.run.path.parent)
    finally:
        os.umask(old)
    run = result.run
    files = {str(p.relative_to(run.path)): stat.S_IMODE(p.stat().st_mode) for p in run.path.rglob("*") if p.is_file()}
    folders = {str(p.relative_to(run.path)): stat.S_IMODE(p.stat().st_mode) for p in run.path.rglob("*") if p.is_dir()}
    for name in ("config.toml", "status.json", "split.json", "best.json", "last.json", "metrics.jsonl",
                 "writer.lock"):
        assert name in files
    assert any(name.endswith("model.safetensors") for name in files)
    assert any(name.endswith("training_state.json") for name in files)
    assert {name: mode for name, mode in files.items() if mode != 0o666 & ~umask} == {}
    assert {name: mode for name, mode in folders.items() if mode != 0o777 & ~umask} == {}


def test_an_atomic_write_follows_the_umask_and_leaves_no_temporary(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "x.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


# --- messages that name what is missing ------------------------------------------------------------


def test_a_deleted_checkpoint_folder_is_named(stopped_run):
    last = stopped_run.last_checkpoint
    shutil.rmtree(last)
    with pytest.raises(UserError) as caught:
        resumable_checkpoint(stopped_run)
    message = str(caught.value)
    assert f"its last checkpoint folder {last} is missing (last.json names it" in message
    assert "stopped before its first one" not in message and "\n" not in message

    shutil.rmtree(stopped_run.checkpoints_dir)
    with pytest.raises(UserError, match=f"its checkpoints folder {stopped_run.checkpoints_dir} is missing"):
        resumable_checkpoint(stopped_run)


def test_a_deleted_last_json_is_named(stopped_run):
    (stopped_run.path / "last.json").unlink()
    with pytest.raises(UserError, match="last.json is missing though checkpoints/ holds step-"):
        resumable_checkpoint(stopped_run)


def test_a_run_that_never_saved_still_says_so(tmp_path):
    folder = tmp_path / "early"
    folder.mkdir()
    run = Run(folder)
    run.write_status("stopped")
    with pytest.raises(UserError, match="stopped before its first one"):
        resumable_checkpoint(run)
