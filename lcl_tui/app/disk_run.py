"""A run read from its folder: finished, or still written by another process.

`reload()` reads the folder (call it from a thread worker: a long run's metrics file is
megabytes); the UI re-reads on a timer while the status says running.
"""

from __future__ import annotations

import threading

from lcl_tui.events import RunSnapshot
from lcl_tui.run_state import RunState
from lcl_tui.runstore import Run

# What a run opened from disk shows until a worker has read its status.
NOT_READ = "unknown"


class DiskRun:
    def __init__(self, run: Run):
        self.run = run
        # Its folder's path, as the runs list and `resolve` name it: stop and resume find it by this.
        self.key = str(run.path)
        self.state: RunState | str = NOT_READ
        self.error: str | None = None
        self.version = 0
        self._snapshot = RunSnapshot(run_id=run.run_id)
        self._size = -1
        self._lock = threading.Lock()

    @property
    def title(self) -> str:
        return self.run.run_id

    @property
    def active(self) -> bool:
        return self.state == RunState.RUNNING

    @property
    def followed(self) -> bool:
        """Another process may still be writing it: re-read it on the disk timer."""
        return self.state in (RunState.RUNNING, NOT_READ)

    @property
    def best_checkpoint(self) -> str | None:
        best = self.run.best_checkpoint
        return str(best) if best is not None else None

    def reload(self) -> bool:
        """Re-read status and events; True when something changed."""
        status = self.run.read_status()
        try:
            size = self.run.metrics_path.stat().st_size
        except OSError:
            size = 0
        changed = status.status != self.state or size != self._size
        if not changed:
            return False
        snapshot = self.run.snapshot() if size != self._size else None
        with self._lock:
            self.state = RunState(status.status)
            self.error = status.error
            if snapshot is not None:
                self._snapshot = snapshot
                self._size = size
            self.version += 1
        return True

    def view(self) -> RunSnapshot:
        with self._lock:
            return self._snapshot
