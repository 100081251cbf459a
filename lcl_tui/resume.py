"""`lcl-tui train --resume RUN`: continue a stopped, failed or interrupted run."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from lcl_tui.distributed import SINGLE_PROCESS, SingleProcess
from lcl_tui.errors import UserError
from lcl_tui.runstore import Run, RunStore
from lcl_tui.training import Subscriber, Trainer, TrainResult
from lcl_tui.training_state import has_training_state


def resume_training(run_id_or_path: str, runs_dir: str | Path, *, subscribers: Sequence[Subscriber] = (),
                    stop: threading.Event | None = None, trust_remote_code: bool = False,
                    parallel: SingleProcess = SINGLE_PROCESS) -> TrainResult:
    """Continue a run from its last checkpoint: weights, optimiser, scheduler, sampler, RNG.

    A run folder may come from anyone: if its config asks for the model's own code
    (model.trust_remote_code), that code runs only when the caller says so again.
    """
    run = RunStore(runs_dir).open(run_id_or_path)
    # [ddp] rank 0 checks the status; the others would find it "running" already, set by rank 0
    checkpoint = resumable_checkpoint(run, trust_remote_code, check_status=parallel.is_writer)
    config = run.load_config()
    trainer = Trainer(config, store=RunStore(run.path.parent), stop=stop, subscribers=subscribers,
                      run=run, resume_from=checkpoint, parallel=parallel)
    return trainer.run()


def resumable_checkpoint(run: Run, trust_remote_code: bool = False, check_status: bool = True) -> Path:
    """The checkpoint a run would resume from; a UserError says why it cannot be resumed."""
    status = run.read_status()
    if check_status and status.status == "completed":
        raise UserError(f"run {run.run_id} already completed; start a new run to train more")
    if check_status and status.status == "running":
        raise UserError(f"run {run.run_id} is still running (pid {status.pid}); stop it before resuming")
    checkpoint = run.last_checkpoint
    if checkpoint is None or not (has_training_state(checkpoint) or
                                  (checkpoint / "training_state.json").is_file()):
        raise UserError(
            f"run {run.run_id} has no checkpoint to resume from (it stopped before its first one); "
            "start it again with `lcl-tui train`"
        )
    if run.load_config().model.trust_remote_code and not trust_remote_code:
        raise UserError(f"run {run.run_id} runs its model's own code (model.trust_remote_code); if you "
                        "trust it, resume it with `lcl-tui train --resume RUN --trust-remote-code`")
    return checkpoint
