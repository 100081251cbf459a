"""The app's only doors into the heavy engine. Every import is inside a function, so the
app's first frame never waits for torch or transformers; they load in a worker.

Training is not here: runs train in child processes (training_process.py), so the app
loads torch only to check a run before resuming it and for the prompt pane's model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lcl_tui.quiet import quiet_libraries


def resumable_checkpoint(run: Any) -> Path:
    """Where `run` would resume from (raises UserError with the reason it cannot)."""
    from lcl_tui.resume import resumable_checkpoint as engine_resumable_checkpoint

    return engine_resumable_checkpoint(run)


def load_predictor(folder: Path) -> Any:
    quiet_libraries()
    from lcl_tui.predict import Predictor

    return Predictor.from_checkpoint(Path(folder))


def list_datasets() -> list[Any]:
    from lcl_tui.data import list_datasets as engine_list_datasets

    return list(engine_list_datasets())


def warm_up() -> None:
    """Import the prediction stack ahead of the prompt pane's first model (in a background thread)."""
    quiet_libraries()
    import lcl_tui.predict  # noqa: F401
