"""`lcl-tui train`: the checks on its options, training in this process (one rank of a
torchrun group, or alone), and `--nproc`, which launches torchrun."""

from __future__ import annotations

from pathlib import Path

import typer

from lcl_tui.cli_support import DEFAULT_RUNS_DIR, stop_on_signals, user_errors
from lcl_tui.errors import UserError


def check_train_options(preset: str | None, set_: list[str], max_steps: int | None, seed: int | None,
                        device: str | None, resume: str | None, trust_remote_code: bool) -> None:
    if resume is not None:
        if preset is not None or set_ or max_steps is not None or seed is not None or device is not None:
            raise UserError("--resume continues a run with its own config; drop the preset and the overrides")
    elif preset is None:
        raise UserError("give a preset name or .toml file (see `lcl-tui presets`), or --resume RUN")
    elif trust_remote_code:
        raise UserError("--trust-remote-code goes with --resume; for a new run set model.trust_remote_code=true")


def train_here(preset: str | None, set_: list[str], runs_dir: Path | None, max_steps: int | None,
               seed: int | None, device: str | None, resume: str | None, json_lines: bool,
               trust_remote_code: bool):
    """Train (or resume) the run in this process; (the result, whether this process reports)."""
    from lcl_tui.distributed import SINGLE_PROCESS, launched_rank, launched_world_size

    parallel = SINGLE_PROCESS
    try:
        # Under torchrun rank 0 speaks for every process; the others end with the same code, silently.
        with user_errors(quiet=launched_rank() > 0):
            from lcl_tui.console import ConsoleReporter

            config = train_config(preset, set_, runs_dir, max_steps, seed, device) if resume is None else None
            if launched_world_size() > 1:  # torchrun started this process: join its group
                parallel = join_process_group(config or run_config(resume, runs_dir))
            # With several processes the stop comes when they all agree (distributed.py).
            stop = stop_on_signals() if parallel.world_size == 1 else None
            # A closed stdout means its reader has gone (the app that started this run, a pipe):
            # stop as on Ctrl-C, keeping a checkpoint.
            on_closed = stop.set if stop is not None else None
            subscribers = [ConsoleReporter(json_lines=json_lines, on_closed=on_closed)] if parallel.is_writer else []
            if resume is not None:
                from lcl_tui.resume import resume_training

                result = resume_training(resume, runs_dir or DEFAULT_RUNS_DIR, subscribers=subscribers, stop=stop,
                                         trust_remote_code=trust_remote_code, parallel=parallel)
            else:
                from lcl_tui.training import train as run_training

                result = run_training(config, subscribers=subscribers, stop=stop, parallel=parallel)
            for reporter in subscribers:
                reporter.close()
    finally:
        parallel.close()
    return result, parallel.is_writer


def train_config(preset: str | None, set_: list[str], runs_dir: Path | None, max_steps: int | None,
                 seed: int | None, device: str | None):
    """A new run's config: the preset with `--set` and the option overrides applied."""
    from lcl_tui.config import load_config, parse_overrides

    overrides = parse_overrides(set_)
    for key, value in (("output.runs_dir", runs_dir and str(runs_dir)), ("train.max_steps", max_steps),
                       ("train.seed", seed), ("train.device", device)):
        if value is not None:
            overrides[key] = value
    return load_config(preset, overrides)


def run_config(resume: str, runs_dir: Path | None):
    """The config of the run `--resume` names."""
    from lcl_tui.runstore import RunStore

    return RunStore(runs_dir or DEFAULT_RUNS_DIR).open(resume).load_config()


def join_process_group(config):
    """One rank of a data-parallel run (distributed.py); rank 0 warns of an uneven batch split."""
    from lcl_tui.distributed import batch_split_warning, start_from_environment

    parallel = start_from_environment(config.train.device)
    warning = batch_split_warning(config.train.batch_size, parallel.world_size)
    if warning and parallel.is_writer:
        typer.echo(warning, err=True)
    return parallel


def launch_processes(nproc: int, preset: str | None, set_: list[str], runs_dir: Path | None,
                     max_steps: int | None, seed: int | None, device: str | None, resume: str | None,
                     json_lines: bool, trust_remote_code: bool) -> int:
    """`train --nproc N`: check what the processes would trip on, here in one line, then start them."""
    from lcl_tui.distributed import check_devices
    from lcl_tui.launch import check_nproc, launch_training, train_options

    check_nproc(nproc)
    if resume is not None:
        from lcl_tui.resume import resumable_checkpoint
        from lcl_tui.runstore import RunStore

        resumable_checkpoint(RunStore(runs_dir or DEFAULT_RUNS_DIR).open(resume), trust_remote_code)
        config = run_config(resume, runs_dir)
    else:
        config = train_config(preset, set_, runs_dir, max_steps, seed, device)
    check_devices(config.train.device, nproc)
    options = train_options(overrides=set_, runs_dir=runs_dir and str(runs_dir), max_steps=max_steps, seed=seed,
                            device=device, resume=resume, json_lines=json_lines, trust_remote_code=trust_remote_code)
    return launch_training(nproc, preset, options)
