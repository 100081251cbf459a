"""Every state a run can be in, in one place.

`RunState` is a `str`, so it compares equal to the plain strings that older run folders
hold in `status.json` and that events carry in JSON (`RunState("running")` reads them back).
"""

from __future__ import annotations

from enum import Enum


class RunState(str, Enum):
    # Before a process trains it (the app's queue only).
    QUEUED = "queued"
    STARTING = "starting"
    # Written to status.json by the process that trains the run.
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    # Read, never written: status.json says running but its process is gone.
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def is_finished(self) -> bool:
        """Ended by its own process: nothing more will be written."""
        return self in FINISHED

    @property
    def is_resumable(self) -> bool:
        return self in RESUMABLE

    @property
    def is_active(self) -> bool:
        """Waiting to train or training now."""
        return self in ACTIVE


STORED = (RunState.RUNNING, RunState.COMPLETED, RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED)
FINISHED = frozenset({RunState.COMPLETED, RunState.STOPPED, RunState.FAILED})
RESUMABLE = frozenset({RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED})
ACTIVE = frozenset({RunState.QUEUED, RunState.STARTING, RunState.RUNNING})
