"""The app's only doors into the heavy engine. Every import is inside a function, so the
app's first frame never waits for torch or transformers; they load in a worker.

Training is not here: runs train in child processes (training_process.py), so the app
loads torch only to check a run before resuming it and for the prompt pane's model."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from lcl_tui.quiet import quiet_libraries


def resumable_checkpoint(run: Any) -> Path:
    """Where `run` would resume from (raises UserError with the reason it cannot)."""
    from lcl_tui.resume import resumable_checkpoint as engine_resumable_checkpoint

    return engine_resumable_checkpoint(run)


# The prompt pane predicts one sentence at a time: too little work to split between
# threads, which then only wait for each other, and for a core while a run trains (on a
# busy 2-core machine: 400 ms a sentence with 2 threads, 40 ms with 1).
PREDICT_THREADS = 1


def load_predictor(folder: Path) -> Any:
    quiet_libraries()
    import torch

    from lcl_tui.predict import Predictor

    torch.set_num_threads(PREDICT_THREADS)  # the app's torch only predicts: runs train in their own processes
    predictor = Predictor.from_checkpoint(Path(folder))
    leave_long_lived_out_of_collections()
    return predictor


def list_datasets() -> list[Any]:
    from lcl_tui.data import list_datasets as engine_list_datasets

    return list(engine_list_datasets())


def warm_up() -> None:
    """Import the prediction stack ahead of the prompt pane's first model (in a background thread)."""
    quiet_libraries()
    import lcl_tui.predict  # noqa: F401

    leave_long_lived_out_of_collections()


def leave_long_lived_out_of_collections() -> None:
    """Move every object alive now out of the cyclic collector's reach: torch's and
    transformers' modules, classes and functions, and the prompt pane's model (half a
    million objects). A full collection walked them all, 250 ms in the UI thread every few
    seconds while the screen changed. Frozen objects are still freed by reference counting,
    and a Predictor holds no reference cycle, so a model the pane replaces is freed (tested)."""
    gc.collect()
    gc.freeze()
