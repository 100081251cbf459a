"""Headless progress for `lcl-tui train`: a rich bar on a terminal, plain lines in a log."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from lcl_tui.events import CheckpointSaved, EvalEvent, Event, RunFinished, RunStarted, StepEvent


class ConsoleReporter:
    """An event subscriber. Plain lines go out at most every `interval` seconds per kind.

    `on_closed` is called once if the reader of the output goes away (a closed pipe: the
    app that started this process has ended), and nothing more is written.
    """

    def __init__(self, json_lines: bool = False, interval: float = 10.0, stream=None,
                 on_closed: Callable[[], None] | None = None):
        self.stream = stream or sys.stdout
        self.json_lines = json_lines
        self.interval = interval
        self.on_closed = on_closed
        self.closed = False
        self.last_line = 0.0
        self.progress = None
        self.task = None
        if not json_lines and self.stream.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.completed}/{task.total} steps"), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            )

    def print(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            self.write(text)

    def write(self, line: str) -> None:
        if self.closed:
            return
        try:
            print(line, file=self.stream, flush=True)
        except BrokenPipeError:
            self.closed = True
            if self.stream is sys.stdout:  # what is still buffered, and later lines, go nowhere
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            if self.on_closed is not None:
                self.on_closed()

    def __call__(self, event: Event) -> None:
        if self.json_lines:
            self.write(json.dumps(event.to_dict(), ensure_ascii=False))
            return
        if isinstance(event, RunStarted):
            processes = f" x {event.world_size} processes" if event.world_size > 1 else ""
            self.print(
                f"run {event.run_id}: {event.objective} on {event.device}{processes}, "
                f"{event.train_size}/{event.validation_size}/{event.test_size} train/validation/test, "
                f"{len(event.label_names)} labels, {event.total_steps} steps"
            )
            if self.progress is not None:
                self.progress.start()
                self.task = self.progress.add_task("training", total=event.total_steps, status="")
        elif isinstance(event, StepEvent):
            parts = " ".join(f"{k} {v:.4f}" for k, v in event.components.items())
            status = f"loss {event.loss:.4f} ({parts}) {event.examples_per_second:.0f} ex/s"
            if self.progress is not None and self.task is not None:
                self.progress.update(self.task, completed=event.step, total=event.total_steps,
                                     status=status, description=event.stage)
            elif time.monotonic() - self.last_line >= self.interval or event.step == event.total_steps:
                self.last_line = time.monotonic()
                self.print(f"step {event.step}/{event.total_steps} epoch {event.epoch:.2f} {status} lr {event.lr:.2e}")
        elif isinstance(event, EvalEvent):
            best = " (best)" if event.is_best else ""
            # Between epoch ends: on a fixed subsample, for the curves only.
            where = f"{event.split} ({event.examples} examples)" if not event.selects else event.split
            self.print(
                f"{where} step {event.step}: accuracy {event.accuracy:.4f} "
                f"macro-F1 {event.macro_f1:.4f} loss {event.loss:.4f}{best}"
            )
        elif isinstance(event, CheckpointSaved):
            pass
        elif isinstance(event, RunFinished):
            self.close()
            detail = f": {event.error}" if event.error else ""
            self.print(f"{event.status} after {event.step} steps in {event.elapsed_seconds:.0f}s{detail}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
