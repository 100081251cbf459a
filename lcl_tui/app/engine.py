"""The app's only doors into the heavy engine. Every import is inside a function, so the
app's first frame never waits for torch or transformers; they load in a worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train(config, **kwargs) -> Any:
    from lcl_tui.training import train as engine_train

    return engine_train(config, **kwargs)


def load_predictor(folder: Path) -> Any:
    from lcl_tui.predict import Predictor

    return Predictor.from_checkpoint(Path(folder))


def list_datasets() -> list[Any]:
    from lcl_tui.data import list_datasets as engine_list_datasets

    return list(engine_list_datasets())


def warm_up() -> None:
    """Import the training stack ahead of the first Ctrl+T (in a background thread)."""
    import lcl_tui.training  # noqa: F401
