"""The app's only doors into the heavy engine. Every import is inside a function, so the
app's first frame never waits for torch or transformers; they load in a worker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lcl_tui.quiet import quiet_libraries

# Set by the user, the thread count is theirs to choose; otherwise the app keeps one core.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "LCL_TUI_TORCH_THREADS")


def leave_a_core_for_the_ui() -> None:
    """Torch takes every core by default; on a small machine the UI then stutters."""
    import torch

    if any(os.environ.get(name) for name in THREAD_ENV):
        if os.environ.get("LCL_TUI_TORCH_THREADS"):
            torch.set_num_threads(max(1, int(os.environ["LCL_TUI_TORCH_THREADS"])))
        return
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, min(torch.get_num_threads(), cores - 1)))


def train(config, **kwargs) -> Any:
    quiet_libraries()
    from lcl_tui.training import train as engine_train

    leave_a_core_for_the_ui()
    return engine_train(config, **kwargs)


def resume(run_path: Path, runs_dir: Path, **kwargs) -> Any:
    """Continue a stopped, failed or interrupted run from its last checkpoint."""
    quiet_libraries()
    from lcl_tui.resume import resume_training

    leave_a_core_for_the_ui()
    return resume_training(str(run_path), runs_dir, **kwargs)


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
    """Import the training stack ahead of the first Ctrl+T (in a background thread)."""
    quiet_libraries()
    import lcl_tui.training  # noqa: F401
