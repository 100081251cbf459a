"""`lcl-tui train --resume RUN`: continue a stopped, failed or interrupted run."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path

from lcl_tui.distributed import SINGLE_PROCESS, SingleProcess
from lcl_tui.errors import UserError
from lcl_tui.resources import check_device
from lcl_tui.run_state import RunState
from lcl_tui.runstore import Run, RunStore
from lcl_tui.training import Subscriber, Trainer, TrainResult
from lcl_tui.training_state import has_position


def resume_training(run_id_or_path: str, runs_dir: str | Path, *, subscribers: Sequence[Subscriber] = (),
                    stop: threading.Event | None = None, trust_remote_code: bool = False,
                    parallel: SingleProcess = SINGLE_PROCESS) -> TrainResult:
    """Continue a run from its last checkpoint: weights, optimiser, scheduler, sampler, RNG.

    A run folder may come from anyone: if its config asks for the model's own code
    (model.trust_remote_code), that code runs only when the caller says so again.
    """
    run = RunStore(runs_dir).open(run_id_or_path)
    # One writer per run: rank 0 (or the single process) takes the lock before anything is
    # read for the resume or written, and holds it to the end; the other ranks only read.
    with run.writing() if parallel.is_writer else contextlib.nullcontext(run):
        # The other ranks would find the run "running" already: rank 0 marked it so.
        checkpoint = resumable_checkpoint(run, trust_remote_code, check_status=parallel.is_writer)
        config = run.load_config()
        check_device(config.train.device)
        trainer = Trainer(config, store=RunStore(run.path.parent), stop=stop, subscribers=subscribers,
                          run=run, resume_from=checkpoint, parallel=parallel)
        return trainer.run()


def resumable_checkpoint(run: Run, trust_remote_code: bool = False, check_status: bool = True) -> Path:
    """The checkpoint a run would resume from; a UserError says why it cannot be resumed."""
    status = run.read_status()
    if check_status and status.status == RunState.COMPLETED:
        raise UserError(f"run {run.run_id} already completed; start a new run to train more")
    # Holding the writer lock ourselves, a status that still says running is a dead writer's.
    if check_status and status.status == RunState.RUNNING and not run.holds_writer:
        raise UserError(f"run {run.run_id} is still running (pid {status.pid}); stop it before resuming")
    checkpoint = last_checkpoint_or_why(run)
    if not has_position(checkpoint):
        raise UserError(f"run {run.run_id} has no checkpoint to resume from (its last one, {checkpoint.name}, "
                        "holds the model but no training state); start it again with `lcl-tui train`")
    if run.load_config().model.trust_remote_code and not trust_remote_code:
        raise UserError(f"run {run.run_id} runs its model's own code (model.trust_remote_code); if you "
                        "trust it, resume it with `lcl-tui train --resume RUN --trust-remote-code`")
    return checkpoint


def last_checkpoint_or_why(run: Run) -> Path:
    """The complete folder `last.json` names; else a UserError that names what is missing."""
    checkpoint = run.last_checkpoint
    if checkpoint is not None:
        return checkpoint
    why = f"run {run.run_id} cannot resume"
    named = run.pointed_folder("last")
    if named is not None:
        if not run.checkpoints_dir.is_dir():
            raise UserError(f"{why}: its checkpoints folder {run.checkpoints_dir} is missing (last.json names "
                            f"{named.name} in it); restore that folder or start the run again")
        if not named.is_dir():
            raise UserError(f"{why}: its last checkpoint folder {named} is missing (last.json names it); "
                            "restore that folder or start the run again")
        raise UserError(f"{why}: its last checkpoint folder {named} is incomplete (no lcl_tui.json); "
                        "restore it or start the run again")
    saved = sorted(p.name for p in run.checkpoints_dir.glob("step-*")) if run.checkpoints_dir.is_dir() else []
    pointer = run.path / "last.json"
    if pointer.exists():
        raise UserError(f"{why}: its {pointer} is damaged; restore it or start the run again")
    if saved:
        raise UserError(f"{why}: its {pointer} is missing though checkpoints/ holds {saved[-1]}; restore "
                        "last.json or start the run again")
    raise UserError(f"run {run.run_id} has no checkpoint to resume from (it stopped before its first one); "
                    "start it again with `lcl-tui train`")
