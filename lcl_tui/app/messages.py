"""Messages between the worker threads and the UI.

None of them carries "one more point": curves are drawn from each run's snapshot on a
timer, so these only say that something rare happened (a run began or ended, a model
loaded) and are safe to post from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class RunStateChanged(Message):
    """A session run started, finished, or saved a new best checkpoint."""

    key: str


@dataclass
class DatasetsListed(Message):
    datasets: list[Any]  # lcl_tui.data.DatasetInfo


@dataclass
class RunsListed(Message):
    summaries: list[Any]  # lcl_tui.runstore.RunSummary


@dataclass
class SelectRun(Message):
    """Show this run in the monitor and the prompt pane (a LiveRun key or a run path)."""

    target: str
    compare: bool = False
    then: str | None = None  # a tab to switch to afterwards


@dataclass
class ModelLoaded(Message):
    """The prompt pane's predictor finished loading (or failed to)."""

    folder: str
    predictor: Any = None
    error: str | None = None


@dataclass
class Predicted(Message):
    text: str
    labels: list[tuple[str, float]]
    error: str | None = None


@dataclass
class SweepPlanned(Message):
    """A sweep file was read and planned in a worker (a failure is a notification instead)."""

    session: Any  # lcl_tui.app.sweep_session.SweepSession


@dataclass
class SweepResultsRead(Message):
    """The sweep's results were re-read from disk (and written, once it ended)."""

    session: Any
    written: bool = False


@dataclass
class ResumeReady(Message):
    """A run folder checked and loaded in a worker, ready to continue in the queue."""

    live: Any  # lcl_tui.app.run_queue.LiveRun
