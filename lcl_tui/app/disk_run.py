"""A run read from its folder: finished, or still written by another process.

`reload()` reads the folder (call it from a thread worker: a long run's metrics file is
megabytes); the UI re-reads on a timer while the status says running.
"""

from __future__ import annotations

import threading

from lcl_tui.events import RunSnapshot
from lcl_tui.runstore import Run


class DiskRun:
    def __init__(self, run: Run):
        self.run = run
        self.key = f"disk:{run.path}"
        self.state = "unknown"
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
        return self.state == "running"

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
            self.state = status.status
            self.error = status.error
            if snapshot is not None:
                self._snapshot = snapshot
                self._size = size
            self.version += 1
        return True

    def view(self) -> RunSnapshot:
        with self._lock:
            return self._snapshot
