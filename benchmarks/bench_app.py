"""The app against the engine, while the packaged MiniLM trains: examples/s, key latency,
prompt latency, and the time to the first frame.

    .venv/bin/python benchmarks/bench_app.py [--steps 60] [--keys 40] [--key-gap 0.3] [--prompts 30] [--launches 5]

On the quickstart preset (packaged MiniLM-L6, movie-snippets-5, LCL), cut to `--steps`
optimiser steps (and 200 test rows), so both sides train the same thing:

1. Headless: `python -m lcl_tui train PRESET --runs-dir D`, as a user would run it.
2. In the app: the same preset started at once (`lcl-tui --preset PRESET --start`, here
   through make_app and App.run_test, its run in the app's child process). While it
   trains, F2/F3 presses switch tabs, one every `--key-gap` seconds, each timed from the
   key event until a frame showing the new tab has been composed and rendered (the
   headless driver discards the output, but the app renders it as for a terminal); then
   `--prompts` sentences go through the prompt pane's predictor in the app's process.
   Examples/s for both sides come from the step events in the run folders, from the end
   of step 3 to the end of the last step (as bench_training.py counts), so the app's
   figure is measured while its keys and prompts are served.
3. Prompt: one sentence through the predictor the prompt pane loads
   (lcl_tui.app.engine.load_predictor), on the headless run's checkpoint with nothing
   training; and the prompt pane itself after the app's run: Enter to the frame that shows
   the answer.
4. First frame: `lcl-tui` (run_app) launched in a pseudo-terminal writes the time once its
   first frame is on screen (LCL_TUI_FIRST_FRAME_FILE), measured from just before the
   process is spawned.

The app's examples/s is also split: the steps trained while the keys were pressed (a
switch every 0.3 s), and those trained after the prompts with the monitor shown and
nothing pressed (the run watched), each against the same steps of the headless run.

Targets: app >= 0.9 x headless examples/s; key p95 <= 50 ms while training; prompt p50
<= 30 ms; first frame < 1 s. Run it alone: another process on the same cores changes
every figure.
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The training processes must import this copy of lcl_tui too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SKIPPED_STEPS = 3
PRESET = "quickstart"
TARGETS = {"ratio": 0.9, "key_p95_ms": 50.0, "prompt_p50_ms": 30.0, "first_frame_s": 1.0}

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


def ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"p50 {percentile(values, 50) * 1000:.1f} ms, p95 {percentile(values, 95) * 1000:.1f} ms, "
            f"max {max(values) * 1000:.1f} ms over {len(values)}")


# --- the preset and its run folders ----------------------------------------------------------------
def bench_preset(workdir: Path, steps: int) -> Path:
    from lcl_tui.config import load_config, save_config

    config = load_config(PRESET, {"train.max_steps": steps, "data.max_test_examples": 200})
    path = workdir / f"{PRESET}.toml"
    save_config(config, path)
    return path


def examples_per_second(run, first: int = SKIPPED_STEPS, last: int | None = None) -> float:
    """From the end of step `first` to the end of step `last` (None: the last step), from the
    run's events."""
    config = run.load_config()
    per_step = config.train.batch_size * config.train.grad_accumulation
    ends = [s.elapsed_seconds for s in run.snapshot().steps]
    timed = ends[first - 1:last]
    if len(timed) < 2:
        raise RuntimeError(f"{run.path} has {len(ends)} steps; give --steps more than {first}")
    return per_step * (len(timed) - 1) / (timed[-1] - timed[0])


def train_headless(preset: Path, runs_dir: Path):
    from lcl_tui.runstore import RunStore

    subprocess.run([sys.executable, "-m", "lcl_tui", "train", str(preset), "--runs-dir", str(runs_dir)],
                   check=True, stdout=subprocess.DEVNULL)
    (run,) = RunStore(runs_dir).runs()
    return run


def prompt_texts(preset: Path, count: int) -> list[str]:
    from lcl_tui.config import load_config
    from lcl_tui.data import load_splits

    return list(load_splits(load_config(preset).data).test.texts[:count])


def predict_latencies(predictor, texts: list[str]) -> list[float]:
    """One sentence at a time, as the prompt pane asks (after two to warm up)."""
    for text in texts[:2]:
        predictor.predict([text], top_k=5)
    latencies = []
    for text in texts:
        start = time.perf_counter()
        predictor.predict([text], top_k=5)
        latencies.append(time.perf_counter() - start)
    return latencies


# --- in the app ------------------------------------------------------------------------------------
@dataclass
class AppFigures:
    run: object = None
    keys: list[float] = field(default_factory=list)
    keys_idle: list[float] = field(default_factory=list)
    prompts_while_training: list[float] = field(default_factory=list)
    pane_prompts: list[float] = field(default_factory=list)
    steps_at_keys: tuple[int, int] = (0, 0)
    quiet_from_step: int = 0  # from here to its end the run trained with the monitor shown, no key pressed


class Frames:
    """Every frame the app finishes, with what it showed: the active tab and the prompt
    pane's answer (read in the app's post-display hook, right after the frame)."""

    def __init__(self, app):
        self.app = app
        self.shown: list[tuple[float, str, str]] = []

    def __call__(self) -> None:
        screen = self.app.main_screen
        try:
            tab = screen.active_tab
        except Exception:  # before the tabs are mounted
            return
        bars = screen.prompt_pane.query("PredictionBars")
        answer = bars.first().text if bars and bars.first().labels else ""
        self.shown.append((time.perf_counter(), tab, answer))

    async def until(self, start: float, shows, timeout: float = 10.0) -> float:
        """Seconds from `start` to the first frame after it that `shows(tab, answer)`."""
        seen = 0
        while time.perf_counter() - start < timeout:
            await asyncio.sleep(0.0005)
            for when, tab, answer in self.shown[seen:]:
                if when > start and shows(tab, answer):
                    return when - start
            seen = len(self.shown)
        raise RuntimeError("the screen did not change within 10 s")


async def switch_tabs(app, frames: Frames, keys: int, gap: float) -> list[float]:
    """F2, F3, F2, ...: setup and monitor, as a user looks back and forth; seconds each."""
    latencies = []
    for n in range(keys):
        key, tab = ("f2", "setup") if n % 2 == 0 else ("f3", "monitor")
        start = time.perf_counter()
        press(app, key)
        latencies.append(await frames.until(start, lambda shown, _, tab=tab: shown == tab))
        await asyncio.sleep(gap)
    return latencies


def press(app, key: str, char: str | None = None) -> None:
    """A key as the terminal driver sends it."""
    from textual import events

    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


def render_like_a_terminal(app) -> None:
    """run_test's headless driver skips rendering frames to terminal codes; do it (the
    driver discards them), so that the latencies include that work as in a terminal."""
    app.__class__ = type("RenderingApp", (type(app),), {"is_headless": property(lambda self: False)})


async def measure_app(preset: Path, runs_dir: Path, keys: int, key_gap: float, texts: list[str],
                      checkpoint: Path) -> AppFigures:
    from lcl_tui.app import engine
    from lcl_tui.app.app import make_app

    figures = AppFigures()
    app = make_app(preset=str(preset), start=True, runs_dir=runs_dir)
    render_like_a_terminal(app)
    frames = Frames(app)
    app.post_display_hook = frames
    async with app.run_test(size=(120, 36)) as pilot:
        while not app.session.queue.runs or len(app.session.queue.runs[0].view().steps) < SKIPPED_STEPS:
            await asyncio.sleep(0.1)
        live = app.session.queue.runs[0]
        before = len(live.view().steps)
        figures.keys = await switch_tabs(app, frames, keys, key_gap)
        figures.steps_at_keys = (before, len(live.view().steps))
        # The prompt pane's predictor, in this (the app's) process, while the run trains.
        predictor = await asyncio.to_thread(engine.load_predictor, checkpoint)
        if live.active:
            figures.prompts_while_training = await asyncio.to_thread(predict_latencies, predictor, texts)
        figures.quiet_from_step = len(live.view().steps) + 1
        while live.active or live.occupies_slot:
            await asyncio.sleep(0.2)
        figures.run = live.run
        # The same presses with nothing training: what the UI costs by itself.
        figures.keys_idle = await switch_tabs(app, frames, keys, key_gap)
        # The prompt pane itself, on the run's own best checkpoint: Enter to the answer on screen.
        await pilot.press("f4")
        pane = app.main_screen.prompt_pane
        while pane.predictor is None:
            await asyncio.sleep(0.1)
        for text in texts:
            pane.query_one("PromptInput").value = text
            await pilot.pause()
            start = time.perf_counter()
            press(app, "enter", "\r")
            figures.pane_prompts.append(await frames.until(start, lambda _, answer, text=text: answer == text))
    return figures


# --- first frame -----------------------------------------------------------------------------------
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps per run")
    parser.add_argument("--keys", type=int, default=40, help="F2/F3 presses while the app's run trains")
    parser.add_argument("--key-gap", type=float, default=0.3, help="seconds between presses")
    parser.add_argument("--prompts", type=int, default=30, help="sentences for the prompt latency")
    parser.add_argument("--launches", type=int, default=5, help="launches for the first frame")
    args = parser.parse_args()

    from lcl_tui.quiet import quiet_libraries

    quiet_libraries()
    frame = bench_first_frame(args.launches)
    print(f"time to first frame: median {frame['median_s']:.3f} s, max {frame['max_s']:.3f} s over "
          f"{args.launches} launches; torch/transformers loaded at first frame: "
          f"{frame['torch_loaded_at_first_frame']}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        workdir = Path(tmp)
        preset = bench_preset(workdir, args.steps)
        print(f"{PRESET} cut to {args.steps} steps: training headless...", flush=True)
        headless = train_headless(preset, workdir / "headless")
        headless_rate = examples_per_second(headless)
        print(f"  headless: {headless_rate:.1f} examples/s", flush=True)

        from lcl_tui.app import engine

        texts = prompt_texts(preset, args.prompts)
        checkpoint = headless.best_checkpoint
        idle_prompts = predict_latencies(engine.load_predictor(checkpoint), texts)
        print(f"  prompt, the pane's predictor, nothing training: {ms(idle_prompts)} sentences", flush=True)

        print("  training in the app, pressing F2/F3...", flush=True)
        figures = asyncio.run(measure_app(preset, workdir / "app", args.keys, args.key_gap, texts, checkpoint))
        app_rate = examples_per_second(figures.run)
        first, last = figures.steps_at_keys
        quiet = figures.quiet_from_step
        print(f"  in the app: {app_rate:.1f} examples/s ({app_rate / headless_rate:.2f}x headless), of which:",
              flush=True)
        # The same steps of both runs: a run's speed changes along it (evaluations, lengths).
        for what, (start, end) in [("while F2/F3 were pressed", (first, last)),
                                   ("the monitor shown, no key pressed", (quiet, args.steps))]:
            if end - start < 2:
                print(f"    {what}: too few steps to time", flush=True)
                continue
            app_part = examples_per_second(figures.run, start, end)
            headless_part = examples_per_second(headless, start, end)
            print(f"    {what} (steps {start}-{end}): {app_part:.1f} examples/s "
                  f"against {headless_part:.1f} headless on the same steps, {app_part / headless_part:.2f}x",
                  flush=True)
        print(f"  key to screen (F2/F3) while training: {ms(figures.keys)} presses (steps {first}-{last} "
              f"trained meanwhile)", flush=True)
        print(f"  key to screen (F2/F3), nothing training: {ms(figures.keys_idle)} presses", flush=True)
        print(f"  prompt, the pane's predictor, while the app's run trains: {ms(figures.prompts_while_training)}"
              " sentences", flush=True)
        print(f"  prompt pane, Enter to the answer on screen, nothing training: {ms(figures.pane_prompts)} "
              "sentences", flush=True)

    ratio = app_rate / headless_rate
    key_p95 = percentile(figures.keys, 95) * 1000
    prompt_p50 = percentile(idle_prompts, 50) * 1000
    print("app ratios and targets:")
    for label, value, target, ok in [
        ("app / headless examples/s", f"{ratio:.2f}", f">= {TARGETS['ratio']}", ratio >= TARGETS["ratio"]),
        ("key to screen p95 while training (ms)", f"{key_p95:.1f}", f"<= {TARGETS['key_p95_ms']:.0f}",
         key_p95 <= TARGETS["key_p95_ms"]),
        ("prompt p50, one sentence (ms)", f"{prompt_p50:.1f}", f"<= {TARGETS['prompt_p50_ms']:.0f}",
         prompt_p50 <= TARGETS["prompt_p50_ms"]),
        ("first frame, median (s)", f"{frame['median_s']:.3f}", f"< {TARGETS['first_frame_s']:.0f}",
         frame["median_s"] < TARGETS["first_frame_s"]),
    ]:
        print(f"  {label:<40} {value:>8}  target {target:<7} {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
