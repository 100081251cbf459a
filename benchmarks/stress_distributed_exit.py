"""Do `--nproc 2` runs end cleanly? Trains the tiny test model with `lcl-tui train --nproc 2`
N times and counts the runs that completed but whose launcher still failed (a rank killed
by SIGABRT at exit: "terminate called without an active exception").

    .venv/bin/python benchmarks/stress_distributed_exit.py [--runs 20]

Before `DataParallel.close` waited for gloo's threads, 2 of 15 such runs failed on a
2-core machine (and 1 of 7 spawns of the two-rank equality test). Run it alone: the two
ranks share the cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs

    from transformers.utils import logging as transformers_logging

    from lcl_tui.testing import tiny_config, write_tiny_model

    transformers_logging.disable_progress_bar()  # saving the tiny model draws one

    cli = Path(sys.executable).with_name("lcl-tui")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = write_tiny_model(folder / "tiny")
        config = tiny_config(folder, output__runs_dir=str(folder / "runs"), model__name=str(model),
                             train__epochs=1, train__eval_every_steps=3)
        preset = folder / "tiny.toml"
        preset.write_text(config.to_toml(), encoding="utf-8")
        aborted, failed, began = 0, 0, time.perf_counter()
        for number in range(1, runs + 1):
            done = subprocess.run([str(cli), "train", str(preset), "--nproc", "2"],
                                  capture_output=True, text=True, check=False)
            if "terminate called" in done.stderr or "SIGABRT" in done.stderr:
                aborted += 1
                print(f"run {number}: a rank aborted at exit (rc {done.returncode})", flush=True)
            elif done.returncode != 0:
                failed += 1
                print(f"run {number}: rc {done.returncode}: {done.stderr.strip().splitlines()[-1:]}", flush=True)
        seconds = (time.perf_counter() - began) / runs
    print(f"{runs} runs of lcl-tui train --nproc 2: {aborted} aborted at exit, {failed} failed otherwise "
          f"({seconds:.1f} s each)")


if __name__ == "__main__":
    main()
