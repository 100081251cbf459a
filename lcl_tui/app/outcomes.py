"""What the session's decisions come back as: small dataclasses the main screen shows.

No Textual here; see session.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lcl_tui.app.disk_run import DiskRun
from lcl_tui.app.run_queue import LiveRun
from lcl_tui.config import RunConfig

if TYPE_CHECKING:  # the sweep module loads when a sweep starts
    from lcl_tui.app.sweep_session import SweepSession

RunSource = LiveRun | DiskRun


@dataclass(frozen=True)
class Notice:
    """A notification for the screen to show."""

    message: str
    severity: Literal["information", "warning", "error"] = "information"
    title: str = ""
    timeout: float | None = None


@dataclass(frozen=True)
class Stopped:
    """What asking to stop did: a notice, and the queued runs that ended at once (the
    screen reports their end as it reports any other)."""

    notice: Notice | None = None
    ended: tuple[LiveRun, ...] = ()


@dataclass(frozen=True)
class SweepUpdate:
    """A run of the sweep changed: redraw the sweep tab; re-read its results once a run
    has ended, and write the tables once the last one has."""

    sweep: SweepSession
    read: bool = False
    write: bool = False


@dataclass(frozen=True)
class RunChange:
    """A session run started, ended or saved a better checkpoint."""

    live: LiveRun
    ended: Notice | None  # how it ended, said once
    sweep: SweepUpdate | None


@dataclass(frozen=True)
class Opened:
    """A run opened by key, id or path; `source` is None when there is none (see notice)."""

    source: RunSource | None
    notice: Notice | None = None


@dataclass(frozen=True)
class SweepStart:
    sweep: SweepSession
    notice: Notice
    all_done: bool  # nothing to train: write the tables now


@dataclass(frozen=True)
class PresetLoaded:
    config: RunConfig
    name: str
