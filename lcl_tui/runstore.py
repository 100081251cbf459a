"""The run store: one folder per run under the runs folder, every write atomic.

    runs/<run-id>/
        config.toml          the resolved config
        split.json           the data split the run trained and tested on
        status.json          running | completed | stopped | failed (+ pid, host, times)
        metrics.jsonl        every event, one JSON line each
        test_predictions.json  the best checkpoint's label for each test row (stored_predictions.py)
        checkpoints/step-N/  Hugging Face folders (safetensors, tokenizer, labels)
        best.json            which checkpoint is best (replaced atomically)
        last.json            the newest complete checkpoint, for resume
        writer.lock          held (flock) by the one process writing the run (run_lock.py)

A run whose status says running but whose writer is gone reads as interrupted: the lock
says so where the folder has one, the pid (on this host) where it has none.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcl_tui.atomic import append_line, atomic_write_json, atomic_write_text
from lcl_tui.config import RunConfig, check_run_name, load_config
from lcl_tui.errors import ConfigError, DataError, RunNotFoundError
from lcl_tui.events import Event, RunSnapshot, event_from_dict
from lcl_tui.run_lock import WriterLock, WriterState, writer_state
from lcl_tui.run_state import STORED, RunState
from lcl_tui.text import slug

log = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunStatus:
    status: RunState
    pid: int | None = None
    host: str | None = None
    started: float | None = None
    updated: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        self.status = RunState(self.status)

    @property
    def finished(self) -> bool:
        return self.status.is_finished


@dataclass
class RunSummary:
    """One line of `lcl-tui runs` and of the app's run list."""

    run_id: str
    path: Path
    status: RunState
    dataset: str
    model: str
    objective: str
    best_accuracy: float | None
    test_accuracy: float | None
    started: float | None


class Run:
    """One run's folder. Safe to read while another process writes it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._writer = WriterLock(self.path)
        # Lines of metrics.jsonl the last `read_events` could not read (torn by a kill or a full disk).
        self.torn_lines = 0

    @property
    def run_id(self) -> str:
        return self.path.name

    # --- the one writer --------------------------------------------------------------------
    def acquire_writer(self) -> None:
        """Become the run's only writer (raises RunBusyError naming the process that is)."""
        self._writer.acquire()

    def release_writer(self) -> None:
        self._writer.release()

    @property
    def holds_writer(self) -> bool:
        return self._writer.held

    @contextlib.contextmanager
    def writing(self) -> Iterator[Run]:
        """Hold the writer lock for the block (kept if this object held it already)."""
        held_before = self.holds_writer
        self.acquire_writer()
        try:
            yield self
        finally:
            if not held_before:
                self.release_writer()

    # --- paths -----------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def split_path(self) -> Path:
        return self.path / "split.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    # --- config and split -------------------------------------------------------------
    def load_config(self) -> RunConfig:
        return load_config(self.config_path)

    def save_split(self, splits) -> None:
        atomic_write_json(self.split_path, splits.to_dict())

    def load_split(self):
        from lcl_tui.data import splits_from_saved

        try:
            raw = json.loads(self.split_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"run {self.run_id} has no saved data split (it ended before its data was "
                            "loaded); start it again with `lcl-tui train`") from None
        except (OSError, ValueError):
            raise DataError(f"the saved data split of run {self.run_id} is damaged; start a new run "
                            "to make a fresh split") from None
        if isinstance(raw, dict) and "source" in raw:  # rows, not texts: the config says how to read them
            return splits_from_saved(raw, self.load_config().data, f"run {self.run_id}")
        return splits_from_saved(raw, None, f"run {self.run_id}")

    # --- status --------------------------------------------------------------------------
    def write_status(self, status: RunState, error: str | None = None) -> None:
        assert status in STORED, status
        previous = self._read_status_file()
        now = time.time()
        atomic_write_json(
            self.status_path,
            {
                "status": status,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": (previous or {}).get("started", now),
                "updated": now,
                "error": error,
            },
        )

    def _read_status_file(self) -> dict[str, Any] | None:
        try:
            raw = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return raw if isinstance(raw, dict) else None

    def read_status(self) -> RunStatus:
        """The run's status; a missing, damaged or unknown one reads as interrupted."""
        raw = self._read_status_file()
        if raw is None:
            return RunStatus(status=RunState.INTERRUPTED)

        def typed(key: str, kind: type | tuple[type, ...]) -> Any:
            value = raw.get(key)
            return value if isinstance(value, kind) and not isinstance(value, bool) else None

        status = RunStatus(
            status=raw["status"] if raw.get("status") in STORED else RunState.INTERRUPTED,
            pid=typed("pid", int),
            host=typed("host", str),
            started=typed("started", (int, float)),
            updated=typed("updated", (int, float)),
            error=typed("error", str),
        )
        if status.status == RunState.RUNNING:
            status.status = self._running_or_interrupted(status)
        return status

    def _running_or_interrupted(self, status: RunStatus) -> RunState:
        # The lock is the better witness: it dies with its process on any host, and a reused
        # pid cannot fake it. Folders from before locks have only the pid to go by.
        if self.holds_writer:
            return RunState.RUNNING
        state = writer_state(self.path)
        if state == WriterState.HELD:
            return RunState.RUNNING
        if state == WriterState.FREE:
            return RunState.INTERRUPTED
        if status.pid is not None and status.host in (None, socket.gethostname()) and not _pid_alive(status.pid):
            return RunState.INTERRUPTED
        return RunState.RUNNING

    # --- events --------------------------------------------------------------------------
    def append_event(self, event: Event) -> None:
        # Step events come many a second on a GPU: flushed, but only the rarer ones are fsynced.
        append_line(self.metrics_path, json.dumps(event.to_dict(), ensure_ascii=False),
                    durable=event.kind != "step")

    def read_events(self) -> list[Event]:
        """Every complete event line. A line that does not read (torn by a kill mid-write or a
        full disk) is skipped with a warning and counted in `torn_lines`."""
        self.torn_lines = 0
        try:
            text = self.metrics_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        events = []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                events.append(event_from_dict(json.loads(line)))
            except (ValueError, TypeError, KeyError, AttributeError):
                self.torn_lines += 1
        if self.torn_lines:
            log.warning("run %s: skipped %d unreadable line(s) in %s (torn by a kill or a full disk)",
                        self.run_id, self.torn_lines, self.metrics_path.name)
        return events

    def snapshot(self) -> RunSnapshot:
        snapshot = RunSnapshot(run_id=self.run_id)
        for event in self.read_events():
            snapshot.apply(event)
        return snapshot

    def elapsed_at(self, step: int) -> float:
        """The run's own clock (training seconds) when it logged `step`, 0 before any step:
        a resumed run continues its clock from here instead of from zero."""
        snapshot = self.snapshot()
        logged = [s for s in snapshot.steps if s.step <= step]
        return logged[-1].elapsed_seconds if logged else 0.0

    # --- checkpoints ---------------------------------------------------------------------
    def checkpoint_dir(self, step: int) -> Path:
        return self.checkpoints_dir / f"step-{step:07d}"

    def pointed_folder(self, name: str) -> Path | None:
        """The folder `best.json` / `last.json` names, whether or not it is there."""
        try:
            raw = json.loads((self.path / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        name = raw.get("checkpoint") if isinstance(raw, dict) else None
        # Only a folder directly inside checkpoints/: never `..`, never a path elsewhere.
        if not isinstance(name, str) or name != Path(name).name or name in ("", ".", ".."):
            return None
        return self.checkpoints_dir / name

    def _pointer(self, name: str) -> Path | None:
        folder = self.pointed_folder(name)
        return folder if folder is not None and (folder / "lcl_tui.json").is_file() else None

    def set_pointer(self, name: str, folder: Path, **extra: Any) -> None:
        atomic_write_json(self.path / f"{name}.json", {"checkpoint": folder.name, **extra})

    @property
    def best_checkpoint(self) -> Path | None:
        """The best-on-validation model folder, or None before the first one is saved."""
        return self._pointer("best")

    @property
    def last_checkpoint(self) -> Path | None:
        return self._pointer("last")

    def prune_checkpoints(self) -> None:
        """Drop folders that neither pointer names (and half-written temporaries)."""
        import shutil

        keep = {p.name for p in (self.best_checkpoint, self.last_checkpoint) if p is not None}
        if not self.checkpoints_dir.is_dir():
            return
        for folder in self.checkpoints_dir.iterdir():
            if folder.name not in keep:
                # Hide it first (an atomic rename): a kill mid-delete leaves no visible half folder.
                doomed = folder
                if not folder.name.startswith("."):
                    doomed = folder.with_name(f".deleting-{folder.name}-{os.getpid()}")
                    try:
                        os.replace(folder, doomed)
                    except OSError:
                        doomed = folder
                shutil.rmtree(doomed, ignore_errors=True)

    def summary(self) -> RunSummary:
        status = self.read_status()
        dataset = model = objective = "?"
        try:
            config = self.load_config()
            dataset, model, objective = config.data.dataset, config.model.name, config.loss.objective
            if objective == "lcl":
                objective = f"lcl ({config.model.weighting})"
        except Exception:  # a damaged config must not hide the run from the list
            pass
        snapshot = self.snapshot()
        best = snapshot.best_validation
        test = snapshot.test_eval
        return RunSummary(
            run_id=self.run_id,
            path=self.path,
            status=status.status,
            dataset=dataset,
            model=model,
            objective=objective,
            best_accuracy=best.accuracy if best else None,
            test_accuracy=test.accuracy if test else None,
            started=status.started,
        )


class RunStore:
    def __init__(self, runs_dir: str | Path = "runs"):
        self.runs_dir = Path(runs_dir).expanduser()

    def create_run(self, config: RunConfig) -> Run:
        """A new, unique run folder holding the resolved config."""
        base = config.output.run_name or (
            f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{slug(config.name, limit=60, empty='run')}"
        )
        check_run_name(base)
        for attempt in range(1000):
            name = base if attempt == 0 else f"{base}-{attempt + 1}"
            path = self.runs_dir / name
            try:
                self.runs_dir.mkdir(parents=True, exist_ok=True)
                path.mkdir()
            except FileExistsError:
                if self.runs_dir.is_dir():
                    continue
                raise self._unusable(FileExistsError(17, "it is a file, not a folder")) from None
            except OSError as error:
                raise self._unusable(error) from None
            run = Run(path)
            # The lock comes first: the folder is ours alone before anything is written in it.
            run.acquire_writer()
            atomic_write_text(run.config_path, config.to_toml())
            run.write_status(RunState.RUNNING)
            return run
        raise ConfigError(f"too many runs named {base!r}; set output.run_name to another name")

    def _unusable(self, error: OSError) -> ConfigError:
        reason = error.strerror or str(error)
        return ConfigError(f"cannot make a run folder in {self.runs_dir} ({reason}); set output.runs_dir "
                           "(or --runs-dir) to a folder you can write")

    def runs(self) -> list[Run]:
        if not self.runs_dir.is_dir():
            return []
        found = [p for p in self.runs_dir.iterdir() if p.is_dir() and (p / "config.toml").is_file()]
        return [Run(p) for p in sorted(found, key=lambda p: p.name)]

    def open(self, id_or_path: str | Path) -> Run:
        """A run by id (its folder name in the runs folder; a unique prefix also works) or by a
        folder path, written as a path (`runs/x`, `./x`, `/abs/x`, `~/x`).

        A bare word is only ever an id: it never resolves outside the runs folder, and `.`
        and `..` are neither ids nor paths here.
        """
        text = str(id_or_path)
        if not text.strip(". "):
            raise RunNotFoundError(f"no run '{text}' in {self.runs_dir}; give a run id from `lcl-tui runs "
                                   f"--runs-dir {self.runs_dir}` or a run folder such as ./runs/<id>")
        if "/" in text or os.sep in text or text.startswith("~"):
            path = Path(text).expanduser()
            if (path / "config.toml").is_file():
                return Run(path)
        else:
            direct = self.runs_dir / text
            if (direct / "config.toml").is_file():
                return Run(direct)
            matches = [r for r in self.runs() if r.run_id.startswith(text)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = ", ".join(r.run_id for r in matches[:5])
                raise RunNotFoundError(f"run id '{text}' is ambiguous ({names}); give more of it")
        raise RunNotFoundError(
            f"no run '{text}' in {self.runs_dir} (see `lcl-tui runs --runs-dir {self.runs_dir}`)"
        )
