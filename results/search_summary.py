"""Summarise a search's runs for RESULTS.md: setting, validation and test figures, loss terms.

    python results/search_summary.py search-runs search-movie5
    python results/search_summary.py search-runs search-confirm-movie5 --affinity lcl-a0.2-t0.3

    python results/search_summary.py search-runs search-movie5 --grid results/search-movie5-results.csv

The loss terms show whether a temperature leaves the contrastive term flat: its mean over
the first five steps and the five before the last of each run. The last step is left out:
an epoch budget ends on the epoch's short remainder batch, whose contrastive term is lower
only because it has fewer in-batch negatives (log(N - 1) at a flat term).

--grid prints stage 1 as one row per alpha and tau: SCL and LCL side by side, with the
LCL - SCL differences and bootstrap intervals from the sweep's CSV (baseline "scl").
"""
from __future__ import annotations

import argparse
import csv
import json
import tomllib
from pathlib import Path


def read_run(folder: Path) -> dict:
    config = tomllib.loads((folder / "config.toml").read_text())
    events = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [e for e in events if e.get("kind") == "step" and e.get("stage", "train") == "train"]
    finished = next((e for e in reversed(events) if e.get("kind") == "finished"), None)
    if finished is None or finished.get("test_accuracy") is None:
        return {}
    evals = [e for e in events if e.get("kind") == "eval"]
    tests = [e for e in evals if e.get("split") == "test"]
    objective = config["loss"]["objective"]
    contrastive = objective != "ce"  # CE ignores alpha and tau; its config still holds defaults
    return {
        "name": folder.name,
        "objective": objective,
        "alpha": config["loss"].get("alpha") if contrastive else "-",
        "tau": config["loss"].get("temperature") if contrastive else "-",
        "seed": config["train"].get("seed"),
        "batch": config["train"].get("batch_size"),
        "val": finished["best_validation_accuracy"],
        "test": finished["test_accuracy"],
        "f1": finished["test_macro_f1"],
        "seconds": finished["elapsed_seconds"],
        "first": _mean_components(steps[:5]),
        "last": _mean_components(steps[-6:-1]),
        "test_eval": tests[-1] if tests else None,
        "last_eval": evals[-1] if evals else None,
    }


def _mean_components(steps: list[dict]) -> dict[str, float]:
    names = {name for s in steps for name in s.get("components", {})}
    return {n: sum(s["components"].get(n, 0.0) for s in steps) / len(steps) for n in sorted(names)}


def _terms(components: dict[str, float]) -> str:
    return ", ".join(f"{n} {v:.3f}" for n, v in components.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("prefix", help="the sweep's name: runs are <prefix>-<label>-seed<N>")
    parser.add_argument("--affinity", help="print the affinity matrix and per-class F1 of this label's runs")
    parser.add_argument("--grid", type=Path, help="the stage 1 sweep's CSV: print SCL and LCL side by side")
    args = parser.parse_args()
    runs = [read_run(f) for f in sorted(args.runs_dir.glob(f"{args.prefix}-*")) if (f / "metrics.jsonl").exists()]
    runs = [r for r in runs if r]
    if args.grid:
        _print_grid(runs, args.grid)
        return
    print("| objective | alpha | tau | seed | best val acc | test acc | test macro-F1 | first 5 steps | 5 steps before the last | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(runs, key=lambda r: (r["objective"], -r["val"])):
        print(f"| {r['objective']} | {r['alpha']} | {r['tau']} | {r['seed']} | {100 * r['val']:.1f} | {100 * r['test']:.1f} "
              f"| {100 * r['f1']:.1f} | {_terms(r['first'])} | {_terms(r['last'])} | {r['seconds']:.0f} |")
    if args.affinity:
        _print_affinity([r for r in runs if f"-{args.affinity}-seed" in r["name"]])
    _print_per_class(runs)


def _print_grid(runs: list[dict], csv_path: Path) -> None:
    """One row per (alpha, tau): SCL and LCL validation and test figures, and LCL - SCL."""
    rows = {(r["variant"], float(r["loss.alpha"]), float(r["loss.temperature"])): r
            for r in csv.DictReader(csv_path.open())}
    val = {(r["objective"], float(r["alpha"]), float(r["tau"])): r["val"] for r in runs}
    batch = {r["batch"] for r in runs}
    print("| alpha | tau | batch | SCL val acc | SCL test acc / macro-F1 | LCL val acc | LCL test acc / macro-F1 "
          "| LCL - SCL, accuracy [bootstrap] | LCL - SCL, macro-F1 [bootstrap] |")
    print("|---" * 9 + "|")
    for alpha, tau in sorted({(a, t) for _, a, t in rows}):
        scl, lcl = rows[("scl", alpha, tau)], rows[("lcl", alpha, tau)]
        cells = [f"{alpha:g}", f"{tau:g}", "/".join(str(b) for b in sorted(batch))]
        for objective, row in (("scl", scl), ("lcl", lcl)):
            cells += [f"{100 * val[(objective, alpha, tau)]:.1f}",
                      f"{100 * float(row['accuracy_mean']):.1f} / {100 * float(row['macro_f1_mean']):.1f}"]
        for metric in ("accuracy", "macro_f1"):
            low, high = float(lcl[f"{metric}_diff_boot_low"]), float(lcl[f"{metric}_diff_boot_high"])
            mark = " *" if low > 0 or high < 0 else ""
            cells.append(f"{100 * float(lcl[f'{metric}_diff']):+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]{mark}")
        print("| " + " | ".join(cells) + " |")


def _print_affinity(runs: list[dict]) -> None:
    """The mean, over the label's runs, of the affinity at the best checkpoint's test evaluation."""
    evals = [r["test_eval"] or r["last_eval"] for r in runs]
    evals = [e for e in evals if e and e.get("affinity")]
    if not evals:
        print("no affinity recorded")
        return
    names = evals[0]["label_names"]
    size = len(names)
    mean = [[sum(e["affinity"][i][j] for e in evals) / len(evals) for j in range(size)] for i in range(size)]
    print(f"\naffinity ({evals[0].get('affinity_source')}, {evals[0].get('split')}, mean of {len(evals)} runs)")
    print("| true \\ weight | " + " | ".join(names) + " |")
    print("|---" * (size + 1) + "|")
    for name, row in zip(names, mean):
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")


def _print_per_class(runs: list[dict]) -> None:
    """Per-class test F1, mean over each setting's seeds."""
    by_setting: dict[str, list[dict]] = {}
    for r in runs:
        if r["test_eval"]:
            by_setting.setdefault(r["name"].rsplit("-seed", 1)[0], []).append(r["test_eval"])
    if not by_setting:
        return
    names = next(iter(by_setting.values()))[0]["label_names"]
    print("\n| setting | n | " + " | ".join(f"F1 {n}" for n in names) + " |")
    print("|---" * (len(names) + 2) + "|")
    for setting, evals in sorted(by_setting.items()):
        f1 = [sum(e["per_class"][i]["f1"] for e in evals) / len(evals) for i in range(len(names))]
        print(f"| {setting} | {len(evals)} | " + " | ".join(f"{100 * v:.1f}" for v in f1) + " |")


if __name__ == "__main__":
    main()
