"""Start a data-parallel run: torchrun (`torch.distributed.run`) runs `lcl-tui train` once per process.

`lcl-tui train PRESET --nproc N` runs torchrun's launcher in its own process, the same as
`torchrun --standalone --nproc-per-node N -m lcl_tui train PRESET`; an app can start that
command as a subprocess (`torchrun_command`, with `launch_environment`). Across nodes, run
torchrun yourself (README, "Many GPUs"). The processes find out who they are from
torchrun's environment (distributed.start_from_environment).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from lcl_tui.errors import UserError


def torchrun_arguments(nproc: int) -> list[str]:
    """torchrun's own options for `nproc` processes on this machine (a free local port each time)."""
    return ["--standalone", f"--nproc-per-node={nproc}"]


def worker_arguments(config_path_or_preset: str | None, extra_args: Sequence[str] = ()) -> list[str]:
    """What torchrun runs in each process: `python -m lcl_tui train ...`."""
    preset = [config_path_or_preset] if config_path_or_preset is not None else []
    return ["-m", "lcl_tui", "train", *preset, *extra_args]


def torchrun_command(config_path_or_preset: str | None, nproc: int, extra_args: Sequence[str] = ()) -> list[str]:
    """The command line that trains a preset or config file in `nproc` processes on this machine.

    `extra_args` are `lcl-tui train` options (`--set k=v`, `--runs-dir D`, `--max-steps N`,
    `--resume RUN` with no preset, ...). Run it with `launch_environment(nproc)` added to the
    environment. Its exit code is torchrun's: 0 when every process ended well.
    """
    return [sys.executable, "-m", "torch.distributed.run", *torchrun_arguments(nproc),
            *worker_arguments(config_path_or_preset, extra_args)]


def launch_environment(nproc: int) -> dict[str, str]:
    """Environment for the launch: the CPU cores shared out among the processes (torchrun would
    otherwise set one thread each and say so in a banner), unless the user chose."""
    from lcl_tui.distributed import threads_per_process

    if os.environ.get("OMP_NUM_THREADS"):
        return {}
    return {"OMP_NUM_THREADS": str(threads_per_process(nproc))}


def train_options(*, overrides: Sequence[str] = (), runs_dir: str | None = None, max_steps: int | None = None,
                  seed: int | None = None, device: str | None = None, resume: str | None = None,
                  json_lines: bool = False, trust_remote_code: bool = False) -> list[str]:
    """`lcl-tui train` options, back as command-line words for the processes."""
    words: list[str] = []
    for override in overrides:
        words += ["--set", override]
    for option, value in (("--runs-dir", runs_dir), ("--max-steps", max_steps), ("--seed", seed),
                          ("--device", device), ("--resume", resume)):
        if value is not None:
            words += [option, str(value)]
    if json_lines:
        words.append("--json")
    if trust_remote_code:
        words.append("--trust-remote-code")
    return words


def check_nproc(nproc: int) -> None:
    from lcl_tui.distributed import launched_world_size, timeout_seconds

    if nproc < 1:
        raise UserError(f"--nproc must be 1 or more (got {nproc})")
    if nproc > 1 and launched_world_size() > 1:
        raise UserError("--nproc starts torchrun itself; under torchrun (or srun torchrun) leave --nproc out")
    timeout_seconds()  # a bad LCL_TUI_DIST_TIMEOUT: one line here, not one per process


def launch_training(nproc: int, config_path_or_preset: str | None, extra_args: Sequence[str]) -> int:
    """Run torchrun's launcher here for `nproc` processes; returns the exit code for the shell.

    Ctrl-C, SIGTERM or SIGHUP reach torchrun's agent, which passes the signal on to every
    process: they agree on a step, stop after it, rank 0 saves a checkpoint, and the run
    reads as stopped (the agent kills what is left after TORCH_ELASTIC_SHUTDOWN_TIMEOUT,
    30 s by default). A process that dies takes the others down with it.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.update(launch_environment(nproc))
    args = parse_args([*torchrun_arguments(nproc), *worker_arguments(config_path_or_preset, extra_args)])
    try:
        run(args)
    except ChildFailedError as error:
        rank, failure = error.get_first_failure()
        if failure.exitcode < 0:
            print(f"error: process {rank} (pid {failure.pid}) was killed by {failure.signal_name()}; "
                  "the other processes were stopped", file=sys.stderr, flush=True)
            return 1
        # Exit codes 1 (the run failed) and 2 (a mistake to fix): rank 0 has said why.
        return failure.exitcode
    except SignalException as stopped:
        return 128 + int(stopped.sigval)
    return 0
