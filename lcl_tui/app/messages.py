"""Messages up to the main screen: what a pane asks for, and what a worker thread found.

Panes never call the screen or the App: they post one of the requests below and the
screen, which owns the session, decides and calls down. Workers post the results of
slow work (reading folders, planning a sweep, loading a model).

None of them carries "one more point": curves are drawn from each run's snapshot on a
timer, so these only say that something rare happened (a run began or ended, a model
loaded) and are safe to post from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from textual.message import Message
from textual.widget import Widget

if TYPE_CHECKING:  # types only: the sweep and data modules load when they are needed
    from lcl_tui.app.run_queue import LiveRun
    from lcl_tui.app.sweep_session import SweepSession
    from lcl_tui.data import DatasetInfo
    from lcl_tui.runstore import RunSummary


class Predicts(Protocol):
    """What the prompt pane asks of a model (lcl_tui.predict.Predictor, or a test's fake)."""

    max_length: int  # the tokens the model reads of a text; the rest is cut off

    def predict(self, texts: list[str], top_k: int = 5) -> list[list[tuple[str, float]]]: ...

    def token_count(self, text: str) -> int: ...


# --- requests from the panes ---------------------------------------------------------------
@dataclass
class TrainRequested(Message):
    """Queue a run from the setup form."""


@dataclass
class StopRequested(Message):
    """Stop a run: a LiveRun key or a run path; None for the selected run."""

    key: str | None = None


@dataclass
class ResumeRequested(Message):
    """Continue a stopped, failed or interrupted run: a key or path; None for the selected run."""

    key: str | None = None


@dataclass
class SelectRun(Message):
    """Show this run in the monitor and the prompt pane (a LiveRun key or a run path)."""

    target: str
    compare: bool = False
    then: str | None = None  # a tab to switch to afterwards


@dataclass
class CycleRun(Message):
    """Select the next (+1) or previous (-1) run of this session."""

    step: int


@dataclass
class ClearCompare(Message):
    """Remove the run overlaid on the selected one."""


@dataclass
class RefreshRuns(Message):
    """Read the runs folder again."""


@dataclass
class SweepRequested(Message):
    """Ask for a sweep file and run it."""


@dataclass
class StopSweepRequested(Message):
    """Stop every queued and training run of the sweep."""


@dataclass
class SweepSettingChosen(Message):
    """Show a run of this sweep setting (its slug) in the monitor."""

    slug: str


@dataclass
class PresetChosen(Message):
    """Fill the setup form from a preset (a name in presets/ or a TOML path)."""

    name: str


@dataclass
class SavePresetRequested(Message):
    """Save the setup form as a TOML preset."""


@dataclass
class OpenPresetRequested(Message):
    """Ask for a TOML preset file and fill the setup form from it."""


@dataclass
class PaneMounted(Message):
    """A pane mounted after the first frame (textual.lazy.Lazy) is in the DOM now: the
    screen gives it focus if its tab is showing."""

    pane: Widget


# --- results from the workers --------------------------------------------------------------
@dataclass
class RunStateChanged(Message):
    """A session run started, finished, or saved a new best checkpoint."""

    key: str


@dataclass
class DatasetsListed(Message):
    datasets: list[DatasetInfo]


@dataclass
class RunsListed(Message):
    summaries: list[RunSummary]


@dataclass
class ModelLoaded(Message):
    """The prompt pane's predictor finished loading (or failed to)."""

    folder: str
    predictor: Predicts | None = None
    error: str | None = None


@dataclass
class Predicted(Message):
    text: str
    labels: list[tuple[str, float]]
    error: str | None = None
    run: str = ""  # the run whose model answered
    # The text's length in tokens, when the model read only its first `max_length`.
    tokens: int | None = None
    max_length: int | None = None


@dataclass
class SweepPlanned(Message):
    """A sweep file was read and planned in a worker (a failure is a notification instead)."""

    session: SweepSession


@dataclass
class SweepResultsRead(Message):
    """The sweep's results were re-read from disk (and written, once it ended)."""

    session: SweepSession
    written: bool = False


@dataclass
class ResumeReady(Message):
    """A run folder checked and loaded in a worker, ready to continue in the queue."""

    live: LiveRun
