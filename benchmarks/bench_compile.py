"""Does `torch.compile` pay on this machine? Our `ce` (bench_training.ours: packaged MiniLM-L6,
batch 32, length-grouped, 60 steps of 3,000 rows) with the encoder eager and compiled.

    .venv/bin/python benchmarks/bench_compile.py [--tasks trec-50,movie-snippets-5] [--precision no,bf16]

Compiled: `torch.compile(encoder, dynamic=True)` (inductor; one graph for every batch
length). Examples/s from the end of step 3, so the first compilation stays out of them;
its cost is the wall-time difference, printed beside. Each figure in a fresh process, the
eager one first. The engine has no compile option: this script wraps the encoder itself.
Run it alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure(task: str, precision: str, compiled: bool, steps: int) -> dict:
    import torch

    import bench_training
    from lcl_tui import models
    from lcl_tui.quiet import quiet_libraries

    quiet_libraries()
    if compiled:
        wrap = models.TransformerBackbone.__init__

        def compiled_backbone(self, encoder, pooling):
            wrap(self, encoder, pooling)
            self.encoder = torch.compile(encoder, dynamic=True)

        models.TransformerBackbone.__init__ = compiled_backbone
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs_dir:
        figure = bench_training.ours(task, 3000, steps, runs_dir, precision=precision)
    return {"examples_per_second": figure.examples_per_second, "wall_seconds": time.perf_counter() - start}


def in_child(task: str, precision: str, compiled: bool, steps: int) -> dict:
    request = json.dumps([task, precision, compiled, steps])
    done = subprocess.run([sys.executable, __file__, "--one", request], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{request} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="trec-50,movie-snippets-5")
    parser.add_argument("--precision", default="no", help="comma-separated: no (fp32), bf16")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*json.loads(args.one))))
        return
    for task in args.tasks.split(","):
        for precision in args.precision.split(","):
            eager = in_child(task, precision, False, args.steps)
            compiled = in_child(task, precision, True, args.steps)
            print(f"{task} {precision}: eager {eager['examples_per_second']:.1f} examples/s, compiled "
                  f"{compiled['examples_per_second']:.1f} ({compiled['examples_per_second'] / eager['examples_per_second']:.2f}x); "
                  f"wall {eager['wall_seconds']:.0f} s against {compiled['wall_seconds']:.0f} s with compilation",
                  flush=True)


if __name__ == "__main__":
    main()
