"""App responsiveness: time to first frame, and key-to-screen latency while a run trains.

    .venv/bin/python benchmarks/bench_app.py [--launches 5] [--keys 60]

First frame: launches `lcl-tui` (run_app) in a pseudo-terminal with LCL_TUI_FIRST_FRAME_FILE
set; the app writes the time once its first frame is on screen and exits. Measured from
just before the process is spawned, so interpreter start-up and imports count.

Key latency: in-process (App.run_test) with a real tiny-model training run going in the
background; presses `n` on the monitor (counts <-> row-% confusion matrix) and measures
until a frame that shows the change has been composed and handed to the display.
Targets: first frame < 1 s, key latency p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_FRAME_PROBE = (
    "import sys, json\n"
    "from lcl_tui.app import run_app\n"
    "run_app(runs_dir=sys.argv[1])\n"
    "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
    "open(sys.argv[2], 'a').write(json.dumps(heavy) + '\\n')\n"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def first_frame_once(workdir: Path) -> tuple[float, list[str]]:
    report = workdir / f"frame-{time.monotonic_ns()}.txt"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "LCL_TUI_FIRST_FRAME_FILE": str(report), "TERM": "xterm-256color"}
    env.pop("TEXTUAL", None)

    def drain() -> None:  # a full pty buffer would block the app's writes
        while True:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, "-c", FIRST_FRAME_PROBE, str(workdir / "runs"), str(report)],
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, close_fds=True,
    )
    os.close(slave)
    try:
        process.wait(timeout=60)
    finally:
        os.close(master)
    lines = report.read_text().splitlines()
    frame_time = float(lines[0])
    heavy = json.loads(lines[1]) if len(lines) > 1 else []
    return frame_time - started, heavy


def bench_first_frame(launches: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        first_frame_once(Path(tmp))  # warm the OS file cache: we measure the app, not the disk
        results = [first_frame_once(Path(tmp)) for _ in range(launches)]
    times = [t for t, _ in results]
    return {
        "median_s": statistics.median(times),
        "max_s": max(times),
        "torch_loaded_at_first_frame": any(heavy for _, heavy in results),
    }


async def measure_key_latency(keys: int) -> dict:
    from textual import events

    from lcl_tui.app.app import make_app
    from lcl_tui.quiet import quiet_libraries
    from lcl_tui.testing import tiny_config

    quiet_libraries()  # writing the tiny model would draw a progress bar
    with tempfile.TemporaryDirectory() as tmp:
        config = tiny_config(Path(tmp), train__epochs=1000)
        app = make_app(config=config, runs_dir=Path(tmp) / "runs", warm_up=False)
        displays: list[float] = []
        app.post_display_hook = lambda: displays.append(time.perf_counter())  # every frame composed
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("ctrl+t")
            live = app.session.queue.runs[0]
            while len(live.view().steps) < 5 or not live.view().evals:  # training, and a matrix to toggle
                await asyncio.sleep(0.1)
            steps_before = len(live.view().steps)
            monitor = app.main_screen.monitor_pane
            latencies = []
            for _ in range(keys):
                want = not monitor.normalised
                marker = "(row %)" if want else "(counts)"
                seen = len(displays)
                start = time.perf_counter()
                app.post_message(events.Key("n", "n"))
                while True:
                    await asyncio.sleep(0.0005)
                    if len(displays) > seen:
                        seen = len(displays)
                        title = str(monitor.query_one("#details-title").render())
                        if monitor.normalised == want and marker in title:
                            latencies.append(displays[-1] - start)
                            break
                    if time.perf_counter() - start > 5:
                        raise RuntimeError("the screen did not change within 5 s")
                await asyncio.sleep(0.05)  # a user does not type faster than this
            steps_during = len(live.view().steps) - steps_before
            live.stop.set()
            while live.occupies_slot:  # let the trainer finish writing before the folder goes
                await asyncio.sleep(0.05)
        return {
            "samples": len(latencies),
            "p50_ms": percentile(latencies, 50) * 1000,
            "p95_ms": percentile(latencies, 95) * 1000,
            "max_ms": max(latencies) * 1000,
            "training_steps_during_measurement": steps_during,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--keys", type=int, default=60)
    args = parser.parse_args()

    frame = bench_first_frame(args.launches)
    print(f"time to first frame: median {frame['median_s']:.3f} s, max {frame['max_s']:.3f} s "
          f"over {args.launches} launches (target < 1 s); torch/transformers loaded at first frame: "
          f"{frame['torch_loaded_at_first_frame']}")
    keys = asyncio.run(measure_key_latency(args.keys))
    print(f"key-to-screen latency while training: p50 {keys['p50_ms']:.1f} ms, p95 {keys['p95_ms']:.1f} ms, "
          f"max {keys['max_ms']:.1f} ms over {keys['samples']} presses (target p95 < 100 ms); "
          f"{keys['training_steps_during_measurement']} training steps ran meanwhile")


if __name__ == "__main__":
    main()
