"""The command line: bare `lcl-tui` opens the app; subcommands work headless.

Heavy imports (torch, transformers, textual) happen inside the commands, so `--help` is
instant. Every user mistake is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lcl_tui.cli_support import (  # noqa: F401 - fail and stop_on_signals are part of this module's API
    DEFAULT_RUNS_DIR,
    fail,
    print_note,
    print_table,
    stop_on_signals,
    user_errors,
)
from lcl_tui.errors import UserError
from lcl_tui.quiet import quiet_libraries
from lcl_tui.run_state import RunState

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="Fine-grained text classification with label-aware contrastive fine-tuning.",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder holding the runs.")]
@app.callback(invoke_without_command=True)
def open_app(
    ctx: typer.Context,
    preset: Annotated[Optional[str], typer.Option(help="Open with this preset (name or .toml file) loaded.")] = None,
    start: Annotated[bool, typer.Option("--start", help="Start training the preset at once.")] = False,
    open_run: Annotated[Optional[str], typer.Option("--open", help="Open a run (id or folder).")] = None,
    sweep: Annotated[Optional[Path], typer.Option(
        "--sweep", help="Start this sweep file in the app (its table fills in as runs end).")] = None,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    mouse: Annotated[bool, typer.Option("--mouse/--no-mouse", help="Capture the mouse (off: select text freely).")] = True,
) -> None:
    """Open the app (bare `lcl-tui`)."""
    if ctx.invoked_subcommand is not None:
        return
    if start and preset is None:
        fail("--start needs --preset NAME (see `lcl-tui presets`)")
    with user_errors():
        if preset is not None:
            from lcl_tui.config import load_config

            load_config(preset)  # a bad preset is a one-line error before the screen opens
        if open_run is not None:
            from lcl_tui.runstore import RunStore

            RunStore(runs_dir).open(open_run)
        if sweep is not None:
            if open_run is not None or start:
                raise UserError("--sweep starts the sweep's own runs; drop --open and --start")
            from lcl_tui.runstore import RunStore
            from lcl_tui.sweep import load_sweep, plan_sweep

            plan_sweep(load_sweep(sweep), RunStore(runs_dir))  # a bad sweep file fails here, in one line
        from lcl_tui.app import run_app

        run_app(preset=preset, start=start, open_run=open_run, runs_dir=runs_dir, mouse=mouse,
                sweep_file=str(sweep) if sweep is not None else None)


@app.command()
def train(
    preset: Annotated[Optional[str], typer.Argument(help="A preset name (`lcl-tui presets`) or a .toml file.")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override a setting: section.key=value.")] = [],  # noqa: B006
    runs_dir: Annotated[Optional[Path], typer.Option("--runs-dir", help="Folder holding the runs.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimiser steps.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed.")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = None,
    resume: Annotated[Optional[str], typer.Option(help="Continue this run (id or folder) from its last checkpoint.")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Print every event as a JSON line.")] = False,
    trust_remote_code: Annotated[bool, typer.Option(
        "--trust-remote-code", help="With --resume: run the model code the run's config asks for.")] = False,
    nproc: Annotated[Optional[int], typer.Option(
        "--nproc", help="Train data-parallel in N processes on this machine, through torchrun: one per GPU, "
                        "or N CPU processes on a CPU machine.")] = None,
) -> None:
    """Train one run headless (or --resume one) and print its test accuracy."""
    from lcl_tui.cli_train import check_train_options, launch_processes, train_here

    with user_errors():
        check_train_options(preset, set_, max_steps, seed, device, resume, trust_remote_code)
        quiet_libraries()
        if nproc is not None and nproc != 1:  # launch torchrun, which runs this command N times
            raise typer.Exit(launch_processes(nproc, preset, set_, runs_dir, max_steps, seed, device, resume,
                                              json_lines, trust_remote_code))
    result, is_writer = train_here(preset, set_, runs_dir, max_steps, seed, device, resume, json_lines,
                                   trust_remote_code)
    if not is_writer:  # under torchrun rank 0 speaks for every process; the others end silently
        raise typer.Exit(1 if result.status == RunState.FAILED else 0)
    typer.echo(f"run: {result.run.path}")
    if result.status == RunState.FAILED:
        typer.echo(f"error: run failed: {result.error}", err=True)
        raise typer.Exit(1)
    if result.test is not None:
        typer.echo(f"test accuracy {result.test.accuracy:.4f}  macro-F1 {result.test.macro_f1:.4f}")
    elif result.status == RunState.STOPPED:
        typer.echo("stopped before testing; the best checkpoint so far is kept")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve_command(runs_dir: Path, preset: str | None) -> str:
    import shlex

    parts = [sys.executable, "-m", "lcl_tui.cli", "--runs-dir", str(runs_dir)]
    if preset:
        parts += ["--preset", preset]
    return shlex.join(parts)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind. Loopback unless you say otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    preset: Annotated[Optional[str], typer.Option(help="Open the app with this preset loaded.")] = None,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Bind a non-loopback address (no authentication!).")] = False,
) -> None:
    """Serve the app to a browser (textual-serve); reach it through an SSH tunnel."""
    with user_errors():
        if host not in LOOPBACK_HOSTS and not allow_remote:
            raise UserError(
                f"--host {host} would expose the app, which has no authentication, beyond this machine; "
                "keep 127.0.0.1 and use an SSH tunnel, or add --allow-remote"
            )
        if not 1 <= port <= 65535:
            raise UserError(f"--port must be in 1..65535 (got {port})")
        try:
            from textual_serve.server import Server
        except ImportError:
            raise UserError("textual-serve is not installed; run `make setup` or pip install textual-serve") from None
    typer.echo(f"serving on http://{host}:{port} (tunnel: ssh -N -L {port}:127.0.0.1:{port} user@this-host)")
    Server(serve_command(runs_dir, preset), host=host, port=port, title="lcl-tui").serve()


@app.command()
def predict(
    run: Annotated[str, typer.Argument(help="A run id or folder, or a checkpoint folder.")],
    texts: Annotated[list[str], typer.Argument(help="Texts to classify ('-' reads lines from stdin).")],
    top_k: Annotated[int, typer.Option("--top-k", help="Labels to show per text.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per text.")] = False,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    trust_remote_code: Annotated[bool, typer.Option(
        "--trust-remote-code", help="Run model code saved in the checkpoint (only if you trust it).")] = False,
) -> None:
    """Classify texts with a run's best checkpoint."""
    with user_errors():
        if top_k < 1:
            raise UserError(f"--top-k must be >= 1 (got {top_k})")
        if texts == ["-"]:
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
            texts = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
            if not texts:
                raise UserError("no texts to classify on stdin; give one text per line")
        # Arguments that were not UTF-8 arrive as lone surrogates: show them as "?".
        texts = [text.encode("utf-8", "replace").decode("utf-8") for text in texts]
        quiet_libraries()
        from lcl_tui.models import CHECKPOINT_META
        from lcl_tui.predict import Predictor
        from lcl_tui.runstore import RunStore

        if (Path(run) / CHECKPOINT_META).is_file():
            predictor = Predictor.from_checkpoint(Path(run), trust_remote_code=trust_remote_code)
        else:
            predictor = Predictor.from_run(RunStore(runs_dir).open(run), trust_remote_code=trust_remote_code)
        results = predictor.predict(texts, top_k=top_k)
    for text, ranked in zip(texts, results):
        if as_json:
            typer.echo(json.dumps({"text": text, "labels": [{"label": l, "probability": p} for l, p in ranked]},
                                  ensure_ascii=False))
        else:
            shown = "  ".join(f"{label} {probability:.3f}" for label, probability in ranked)
            typer.echo(f"{shown}\t{text}")


@app.command()
def runs(
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
) -> None:
    """List the runs in the runs folder."""
    from lcl_tui.runstore import RunStore
    from lcl_tui.text import PLAIN_MISSING, percent

    summaries = [run.summary() for run in RunStore(runs_dir).runs()]
    if as_json:
        for s in summaries:
            typer.echo(json.dumps({**s.__dict__, "path": str(s.path)}))
        return
    if not summaries:
        typer.echo(f"no runs in {runs_dir}")
        return
    rows = [[s.run_id, s.status, s.dataset, s.model, s.objective,
             percent(s.best_accuracy, missing=PLAIN_MISSING), percent(s.test_accuracy, missing=PLAIN_MISSING)]
            for s in summaries]
    print_table(["run", "status", "dataset", "model", "loss", "best val acc", "test acc"], rows,
                keep_whole=("run", "status"))


@app.command()
def datasets() -> None:
    """List the datasets in the registry."""
    from lcl_tui.data import list_datasets

    rows = [[info.name, str(info.num_labels or "?"), str(info.size or "?"), info.source, info.description]
            for info in list_datasets()]
    print_table(["name", "labels", "rows", "source", "description"], rows, keep_whole=("name",))
    print_note("Also: a local .csv/.tsv/.jsonl/.parquet file (data.dataset=path) or hub:<id> with hub access.")


@app.command()
def presets() -> None:
    """List the presets: yours in ./presets (they win a name clash) and the packaged ones."""
    from lcl_tui.catalog import PACKAGED, PRESETS, packaged_folder, preset_files
    from lcl_tui.config import load_config

    with user_errors():
        found = [(entry, load_config(entry.path)) for entry in preset_files()]
    rows = []
    for entry, config in found:
        objective = config.loss.objective
        if objective == "lcl":
            objective = f"lcl ({config.model.weighting})"
        if config.model.architecture != "transformer":
            objective = f"{config.model.architecture} {objective}"
        origin = PACKAGED if entry.origin == PACKAGED else f"./{entry.path}"
        rows.append([entry.name, origin, config.data.dataset, config.model.name, objective, config.description])
    # The name and where it comes from are what a narrow terminal must keep whole.
    print_table(["preset", "from", "dataset", "model", "loss", "description"], rows, keep_whole=("preset", "from"))
    print_note(f"packaged presets: {packaged_folder(PRESETS)}; yours: ./{PRESETS}/*.toml (a name there wins)")


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="A sweep .toml file, or a sweep's name (see sweeps/).")],
    runs_dir: Annotated[Optional[Path], typer.Option("--runs-dir", help="Folder holding the runs.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run; train nothing.")] = False,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", help="Compare every setting with this one: a setting's label or slug, a variant "
                           "label or key=value grid values (overrides the file's baseline).")] = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Start without asking, even above 200 runs.")] = False,
) -> None:
    """Run a grid of settings x seeds (skipping completed runs, resuming stopped ones) and
    write a results table. Ctrl-C, SIGTERM or SIGHUP stop after the current step with a
    checkpoint; run the same command again to continue."""
    with user_errors():
        from lcl_tui.runstore import RunStore
        from lcl_tui.cli_sweep import confirm_large_sweep, run_sweep_with_progress
        from lcl_tui.sweep import PlanSummary, load_sweep, plan_sweep, with_baseline, write_results

        loaded = load_sweep(file)
        if baseline is not None:
            loaded = with_baseline(loaded, baseline, where="--baseline")
        store = RunStore(runs_dir or Path(loaded.base.output.runs_dir))
        plan = plan_sweep(loaded, store)
        summary = PlanSummary.of(loaded, plan)
        typer.echo(f"sweep {loaded.name}: {summary.describe()}, in {store.runs_dir}")
        if dry_run:
            for planned in plan:
                typer.echo(f"  {planned.action:6}  {planned.point.run_name}  ({planned.reason})")
            return
        confirm_large_sweep(summary.to_train, yes)
        stop = stop_on_signals()
        failed = run_sweep_with_progress(loaded, store, stop)
        markdown, md_path, csv_path = write_results(loaded, store)
    typer.echo(markdown, nl=False)
    typer.echo(f"results: {md_path} and {csv_path}")
    if stop.is_set():
        typer.echo(f"sweep stopped; run `lcl-tui sweep {file}` again (same --runs-dir) to continue it", err=True)
    if failed:
        typer.echo(f"error: {failed} run(s) failed; run the sweep again to redo them", err=True)
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
