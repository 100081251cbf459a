"""Checkpoints: `checkpoints/step-N/` folders that are complete or absent, the best and
last pointers, and the state each one needs to resume."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lcl_tui.atomic import match_open_modes
from lcl_tui.config import RunConfig
from lcl_tui.events import CheckpointSaved, EvalEvent, Event
from lcl_tui.models import TextClassifier, save_checkpoint
from lcl_tui.runstore import Run
from lcl_tui.training_state import ResumePoint


class Checkpointer:
    """Saves one run's checkpoints and announces each with a `CheckpointSaved` event."""

    def __init__(self, run: Run, config: RunConfig, label_names: list[str],
                 publish: Callable[[Event], None]):
        self.run = run
        self.config = config
        self.label_names = label_names
        self.publish = publish

    def save(self, model: TextClassifier, tokenizer: Any, step: int, *, best: bool,
             metrics: EvalEvent | None, resume: ResumePoint | None) -> None:
        """Write the model (and the state to resume from, if any) as checkpoint step-N."""
        final = self.run.checkpoint_dir(step)
        if final.exists():
            # Already saved at this step (this eval, or a killed process's complete folder).
            self.point_to(final, step, best)
            return
        temporary = self.run.checkpoints_dir / f".tmp-{final.name}-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        save_checkpoint(model, tokenizer, temporary, self.meta(model, step, metrics))
        if resume is not None:
            resume.write(temporary)
        # A directory rename is atomic: a checkpoint folder is complete or absent.
        match_open_modes(temporary)  # one file mode in a run folder (safetensors writes 0600)
        os.replace(temporary, final)
        self.point_to(final, step, best)
        self.run.prune_checkpoints()
        self.publish(CheckpointSaved(step=step, path=str(final), best=best))

    def point_to(self, folder: Path, step: int, best: bool) -> None:
        if best:
            self.run.set_pointer("best", folder, step=step)
        self.run.set_pointer("last", folder, step=step)

    def meta(self, model: TextClassifier, step: int, metrics: EvalEvent | None) -> dict[str, Any]:
        """What `lcl_tui.json` says about the checkpoint: enough to load and describe it."""
        return {
            "format": 1,
            "step": step,
            "label_names": self.label_names,
            "model": asdict(self.config.model),
            "weighting": model.weighting,
            "objective": self.config.loss.objective,
            "max_length": self.config.data.max_length,
            "validation_accuracy": metrics.accuracy if metrics else None,
            "validation_macro_f1": metrics.macro_f1 if metrics else None,
        }
