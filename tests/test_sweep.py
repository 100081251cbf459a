"""Sweeps: reading sweep files, expanding the grid, running it, resuming, results tables."""

from __future__ import annotations

import json
import threading

import pytest
from typer.testing import CliRunner

from lcl_tui.config import save_config
from lcl_tui.errors import ConfigError
from lcl_tui.runstore import Run, RunStore
from lcl_tui.sweep import (
    Setting,
    SettingResult,
    baselines,
    compare_with_baselines,
    collect_results,
    expand_grid,
    load_sweep,
    plan_sweep,
    results_csv,
    results_table,
    run_sweep,
    sweep_from_dict,
)
from lcl_tui.sweep_grid import settings

# --- reading and expanding -------------------------------------------------------------------------


def test_grid_variants_and_seeds_expand_to_named_validated_configs():
    sweep = sweep_from_dict({
        "name": "grid",
        "seeds": [1, 2],
        "config": {"data": {"dataset": "trec-50"}, "loss.alpha": 0.3},
        "grid": {"loss": {"temperature": [0.1, 10]}, "train.batch_size": [8, 32]},
        "variants": [{"label": "lcl", "loss": {"objective": "lcl"}}, {"label": "scl", "loss.objective": "scl"}],
    })
    points = expand_grid(sweep)
    assert len(points) == 2 * 2 * 2 * 2
    first = points[0]
    assert first.run_name == "grid-lcl-temperature0.1-batch_size8-seed1"
    assert first.setting.label == "lcl temperature=0.1 batch_size=8"
    config = first.config
    assert (config.loss.objective, config.loss.temperature, config.train.batch_size, config.train.seed) == \
        ("lcl", 0.1, 8, 1)
    assert config.loss.alpha == 0.3 and config.data.dataset == "trec-50"
    assert config.output.run_name == first.run_name
    assert len({p.run_name for p in points}) == len(points)
    assert [p.seed for p in points[:2]] == [1, 2]  # seeds innermost
    assert expand_grid(sweep)[5].run_name == points[5].run_name  # deterministic


def test_word_values_and_overlong_names_stay_valid_folder_names():
    sweep = sweep_from_dict({"name": "n", "grid": {"data.dataset": ["trec-50", "/some/where/data.csv"],
                                                   "model.name": ["x" * 120]}})
    names = [p.run_name for p in expand_grid(sweep)]
    assert names[0].startswith("n-dataset-trec-50-name-xxx")
    assert all(len(name) <= 100 for name in names) and len(set(names)) == 2


@pytest.mark.parametrize("raw, fragment", [
    ({"grid": {"loss.alpha": []}}, "non-empty list"),
    ({"grid": {"loss.alpha": 0.5}}, "non-empty list"),
    ({"grid": {"loss.alpha": [0.1, 0.1]}}, "twice"),
    ({"grid": {"train.seed": [1, 2]}}, "seeds = [...]"),
    ({"config": {"output": {"runs_dir": "x"}}}, "output.runs_dir"),
    ({"seeds": [1, 1]}, "twice"),
    ({"seeds": []}, "non-empty list"),
    ({"seeds": ["a"]}, "whole numbers"),
    ({"grids": {}}, "unknown key 'grids'"),
    ({"name": "a/b"}, "name"),
    ({"variants": [{"loss.objective": "ce"}]}, "needs a label"),
    ({"variants": [{"label": "a"}, {"label": "a"}]}, "share a label"),
    ({"grid": {"loss.alpha": [0.5, 2.0]}}, "setting 'alpha=2.0': loss.alpha must be in [0, 1]"),
    ({"grid": {"loss.nope": [1]}}, "unknown config key 'loss.nope'"),
    ({"base": "no-such-preset"}, "unknown preset"),
])
def test_bad_sweeps_are_one_line_errors_naming_the_fix(raw, fragment):
    with pytest.raises(ConfigError) as caught:
        sweep_from_dict(raw)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_sweep_file_base_preset_and_missing_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('base = "trec-50-lcl"\nseeds = [3]\n[grid]\nloss.alpha = [0.2]\n')
    sweep = load_sweep(path)
    assert sweep.name == "s" and sweep.base.data.dataset == "trec-50"
    assert expand_grid(sweep)[0].config.loss.alpha == 0.2
    with pytest.raises(ConfigError, match="sweep file not found"):
        load_sweep(tmp_path / "missing.toml")
    path.write_text("name = [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_sweep(path)


def test_the_papers_sst5_grid_expands_to_45_valid_settings():
    from lcl_tui.catalog import SWEEPS, packaged_folder

    sweep = load_sweep(packaged_folder(SWEEPS) / "paper-sst5-grid.toml")
    points = expand_grid(sweep)
    assert len(points) == 3 * 5 * 3
    best = [p for p in points if p.setting.values == {"loss.alpha": 0.2, "loss.temperature": 10,
                                                      "train.batch_size": 32}]
    assert len(best) == 1 and best[0].config.model.name == "google/electra-base-discriminator"


def test_committed_sweep_files_all_load():
    from lcl_tui.catalog import SWEEPS, packaged_folder

    files = sorted(packaged_folder(SWEEPS).glob("*.toml"))
    assert {"results-trec50.toml", "results-movie5.toml"} <= {f.name for f in files}
    for path in files:
        assert expand_grid(load_sweep(path))


@pytest.mark.parametrize("dataset, test_rows", [("trec-50", 1076), ("movie-snippets-5", 2121)])
def test_every_setting_and_seed_of_a_sweep_tests_on_the_same_rows(dataset, test_rows):
    from lcl_tui.data import load_splits

    sweep = sweep_from_dict({
        "name": "same-test", "seeds": [1, 2],
        "config": {"data.dataset": dataset},
        "grid": {"loss.alpha": [0.1, 0.7], "loss.temperature": [0.07, 10], "train.batch_size": [8, 32],
                 "data.max_train_examples": [300, 1500], "data.max_eval_examples": [100, 500]},
        "variants": [{"label": "ce", "loss.objective": "ce"}, {"label": "lcl", "loss.objective": "lcl"}],
    })
    points = expand_grid(sweep)
    assert len(points) == 2 * 2 ** 5 * 2
    tests = {json.dumps(load_splits(p.config.data).test.to_dict()) for p in points}
    assert len(tests) == 1
    assert len(json.loads(tests.pop())["texts"]) == test_rows  # at least 1,000 rows to compare on
    # Fixed by split_seed: another split seed draws other test rows.
    other = load_splits(points[0].config.replace(**{"data.split_seed": 14}).data).test
    assert other.texts != load_splits(points[0].config.data).test.texts


def baseline_sweep(baseline, **extra):
    return sweep_from_dict({
        "name": "b", "baseline": baseline, **extra,
        "grid": {"data.dataset": ["trec-50", "movie-snippets-5"], "loss.alpha": [0.2, 0.5]},
        "variants": [{"label": "ce", "loss.objective": "ce"}, {"label": "lcl", "loss.objective": "lcl"}],
    })


def chosen_baselines(sweep) -> dict[str, str]:
    return {slug: setting.label for slug, setting in baselines(sweep).items()}


def test_a_baseline_is_named_as_the_tables_name_settings():
    # A whole label or slug: one baseline for every setting.
    for name in ("ce dataset=trec-50 alpha=0.5", "ce-dataset-trec-50-alpha0.5"):
        assert set(chosen_baselines(baseline_sweep(name)).values()) == {"ce dataset=trec-50 alpha=0.5"}
    # A variant: each setting against that variant with its own dataset and alpha.
    chosen = chosen_baselines(baseline_sweep("ce"))
    assert chosen["lcl-dataset-movie-snippets-5-alpha0.2"] == "ce dataset=movie-snippets-5 alpha=0.2"
    assert chosen["ce-dataset-trec-50-alpha0.5"] == "ce dataset=trec-50 alpha=0.5"
    # Grid values (a number may be written as any equal number), with or without a variant.
    chosen = chosen_baselines(baseline_sweep("alpha=0.50"))
    assert chosen["lcl-dataset-trec-50-alpha0.2"] == "lcl dataset=trec-50 alpha=0.5"
    chosen = chosen_baselines(baseline_sweep("ce loss.alpha=0.5"))
    assert chosen["lcl-dataset-movie-snippets-5-alpha0.2"] == "ce dataset=movie-snippets-5 alpha=0.5"


@pytest.mark.parametrize("baseline, fragment", [
    ("scl", "names no setting; give a setting's label or slug"),
    ("tau=10", "sets 'tau', which the grid does not vary (grid keys: dataset, alpha)"),
    ("alpha=0.7", "alpha takes 0.2, 0.5 in this grid, not 0.7"),
    ("  ", "baseline must name a setting"),
    (3, "baseline must name a setting"),
])
def test_a_baseline_that_names_nothing_is_a_one_line_error(baseline, fragment):
    with pytest.raises(ConfigError) as caught:
        baseline_sweep(baseline)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_results_table_marks_a_known_gain_over_the_baseline():
    from lcl_tui.significance import RunScore
    from lcl_tui.stored_predictions import StoredPredictions

    sweep = sweep_from_dict({"name": "t", "seeds": [1, 2], "baseline": "ce",
                             "variants": [{"label": "ce", "loss.objective": "ce"},
                                          {"label": "lcl", "loss.objective": "lcl"},
                                          {"label": "scl", "loss.objective": "scl"}]})
    labels = [i % 4 for i in range(400)]
    half_right = [y if i % 2 else (y + 1) % 4 for i, y in enumerate(labels)]

    def run(seed, guesses):
        stored = StoredPredictions("rows", ("a", "b", "c", "d"), tuple(labels), tuple(guesses))
        right = sum(y == g for y, g in zip(labels, guesses)) / len(labels)
        return RunScore(seed, right, right, stored)  # macro-F1 is not what this test is about

    ce, lcl, scl = (SettingResult(s, planned=2) for s in settings(sweep))
    ce.runs = [run(1, half_right), run(2, half_right)]
    lcl.runs = [run(1, labels), run(2, labels)]  # right on every row ce gets wrong: +50 points
    scl.runs = [run(1, half_right)]  # one seed, the same predictions as ce
    for result in (ce, lcl, scl):
        result.accuracies = [r.accuracy for r in result.runs]
        result.macro_f1s = [r.macro_f1 for r in result.runs]
    compare_with_baselines(sweep, [ce, lcl, scl])
    table = results_table([ce, lcl, scl])
    assert "| ce | 2 | 50.0 ± 0.0 | 50.0 ± 0.0 | baseline | - |" in table
    assert "| lcl | 2 | 100.0 ± 0.0 | 100.0 ± 0.0 | +50.0 [+50.0, +50.0] * | +50.0 [+" in table
    assert "| scl | 1/2 | 50.0 | 50.0 | +0.0 (1 seed) | +0.0 [+0.0, +0.0] | 1.000 |" in table
    assert "against" not in table and "the baseline `ce`" in table
    rows = results_csv([ce, lcl, scl]).splitlines()
    assert rows[0].endswith("accuracy_diff,accuracy_diff_seed_low,accuracy_diff_seed_high,accuracy_diff_boot_low,"
                            "accuracy_diff_boot_high,accuracy_diff_p,macro_f1_diff,macro_f1_diff_seed_low,"
                            "macro_f1_diff_seed_high,macro_f1_diff_boot_low,macro_f1_diff_boot_high,"
                            "macro_f1_diff_p,bootstrap_pairs,bootstrap_missing")
    assert rows[1].startswith("ce,ce,2,2,0.5000,0.0000,0.5000,0.0000,ce,,")
    assert rows[2].startswith("lcl,lcl,2,2,1.0000,0.0000,1.0000,0.0000,ce,2,0.5000,0.5000,0.5000,")
    assert rows[3].startswith("scl,scl,1,2,0.5000,,0.5000,,ce,1,0.0000,,,0.0000,0.0000,1.0000,")


@pytest.mark.parametrize("task, dataset", [("trec50", "trec-50"), ("movie5", "movie-snippets-5")])
def test_the_search_files_compare_like_with_like(task, dataset):
    from lcl_tui.config import presets_dir

    folder = presets_dir().parent / "sweeps"
    search, confirm = load_sweep(folder / f"search-{task}.toml"), load_sweep(folder / f"search-confirm-{task}.toml")
    found = expand_grid(search)
    assert len(found) == 2 * 3 * 4 and {p.config.train.batch_size for p in found} == {32}
    assert {(p.config.loss.objective, p.config.model.weighting) for p in found} == {("scl", "shared"),
                                                                                   ("lcl", "shared")}
    # Stage 1 pits each LCL setting against SCL at the same alpha and tau.
    for slug, baseline in baselines(search).items():
        setting = next(s for s in settings(search) if s.slug == slug)
        assert baseline.variant == "scl" and baseline.values == setting.values
    # Stage 2 confirms on other seeds under stage 1's conditions, at twice the steps, against CE.
    confirmed = expand_grid(confirm)
    assert len(confirmed) == 6 * 5 and not set(confirm.seeds) & set(search.seeds)
    against_ce = {p.setting.variant: p.config.loss.objective for p in confirmed
                  if baselines(confirm)[p.setting.slug].variant == "ce"}
    # CE, two settings of each contrastive objective (labels name the filled-in values), and a
    # CE control that differs from CE only in its gradient clipping.
    assert sorted(against_ce.values()) == ["ce", "ce", "lcl", "lcl", "scl", "scl"]
    assert all(label == "ce" or label.startswith(objective + "-") for label, objective in against_ce.items())
    ce, control = (next(p.config for p in confirmed if p.setting.variant == label)
                   for label in ("ce", next(v for v, o in against_ce.items() if o == "ce" and v != "ce")))
    assert control.optim.grad_clip > ce.optim.grad_clip
    assert control.loss == ce.loss and control.data == ce.data and control.train == ce.train
    first, second = found[0].config, confirmed[0].config
    assert first.data == second.data and first.data.dataset == dataset
    assert (first.model, first.optim) == (second.model, second.optim)
    assert (first.train.epochs, second.train.epochs) == (1, 2)
    assert (first.train.sampler, first.train.examples_per_class) == (second.train.sampler,
                                                                     second.train.examples_per_class)



@pytest.mark.parametrize("task, preset, winner", [("movie5", "movie-snippets-5-best", "ce-clip1.43"),
                                                  ("trec50", "trec-50-best", "ce-clip5")])
def test_a_best_preset_is_the_setting_its_search_confirmed(task, preset, winner):
    from lcl_tui.config import load_config, presets_dir, resolve_preset_path

    confirm = load_sweep(presets_dir().parent / "sweeps" / f"search-confirm-{task}.toml")
    confirmed = next(p.config for p in expand_grid(confirm) if p.setting.variant == winner)
    shipped = load_config(resolve_preset_path(preset))
    assert shipped.data == confirmed.data and shipped.loss == confirmed.loss and shipped.optim == confirmed.optim
    assert (shipped.model.name, shipped.model.pooling) == (confirmed.model.name, confirmed.model.pooling)
    for field in ("epochs", "batch_size", "sampler", "examples_per_class"):
        assert getattr(shipped.train, field) == getattr(confirmed.train, field), field

# --- results tables --------------------------------------------------------------------------------


def test_results_table_mean_std_and_partial_counts():
    done = SettingResult(Setting("lcl", "lcl", "lcl", {}, {}), planned=3,
                         accuracies=[0.5, 0.6, 0.7], macro_f1s=[0.4, 0.4, 0.4])
    partial = SettingResult(Setting("ce", "ce", "ce", {}, {}), planned=3, accuracies=[0.55], macro_f1s=[0.5])
    empty = SettingResult(Setting("scl", "scl", "scl", {}, {}), planned=3)
    table = results_table([done, partial, empty])
    assert "| lcl | 3 | 60.0 ± 10.0 | 40.0 ± 0.0 |" in table
    assert "| ce | 1/3 | 55.0 | 50.0 |" in table
    assert "| scl | 0/3 | - | - |" in table
    rows = results_csv([done, partial]).splitlines()
    assert rows[0].startswith("setting,variant,n,planned,accuracy_mean")
    assert rows[1] == "lcl,lcl,3,3,0.6000,0.1000,0.4000,0.0000"
    assert rows[2] == "ce,ce,1,3,0.5500,,0.5000,"


# --- running and resuming ------------------------------------------------------------------------------


@pytest.fixture
def small_sweep(tmp_path, tiny):
    """2 settings x 2 seeds of one short epoch each on the tiny model."""
    save_config(tiny(train__epochs=1), tmp_path / "base.toml")
    path = tmp_path / "small.toml"
    path.write_text('name = "small"\nbase = "base.toml"\nseeds = [1, 2]\n'
                    '[grid]\nloss.objective = ["ce", "lcl"]\n')
    return load_sweep(path), RunStore(tmp_path / "sweep-runs")


def kinds(progress) -> list[tuple[str, str]]:
    return [(p.kind, p.point.run_name) for p in progress]


def test_small_grid_end_to_end_then_resume(small_sweep, tmp_path):
    sweep, store = small_sweep
    events = []
    progress = list(run_sweep(sweep, store, subscribers=[events.append]))
    finished = [p for p in progress if p.kind == "finished"]
    assert [p.kind for p in progress] == ["started", "finished"] * 4
    assert all(p.status == "completed" and p.test_accuracy is not None for p in finished)
    assert sorted(r.run_id for r in store.runs()) == sorted(p.point.run_name for p in finished)
    assert any(type(e).__name__ == "RunStarted" for e in events)

    results = collect_results(sweep, store)
    assert [(r.setting.label, r.n) for r in results] == [("objective=ce", 2), ("objective=lcl", 2)]
    by_run = {p.point.run_name: p.test_accuracy for p in finished}
    ce_runs = [by_run[f"small-objective-ce-seed{s}"] for s in (1, 2)]
    assert results[0].accuracy_mean == pytest.approx(sum(ce_runs) / 2)

    # Rerunning skips everything that completed.
    again = list(run_sweep(sweep, store))
    assert [p.kind for p in again] == ["skipped"] * 4

    # A deleted run and a failed one are redone; the others are kept as they were.
    import shutil

    shutil.rmtree(store.runs_dir / "small-objective-ce-seed2")
    failed = Run(store.runs_dir / "small-objective-lcl-seed1")
    failed.write_status("failed", error="boom")
    kept = Run(store.runs_dir / "small-objective-lcl-seed2").metrics_path.read_text()
    plan = {p.point.run_name: p.action for p in plan_sweep(sweep, store)}
    assert plan == {"small-objective-ce-seed1": "skip", "small-objective-ce-seed2": "run",
                    "small-objective-lcl-seed1": "redo", "small-objective-lcl-seed2": "skip"}
    redone = list(run_sweep(sweep, store))
    assert [k for k in kinds(redone) if k[0] == "started"] == [
        ("started", "small-objective-ce-seed2"), ("started", "small-objective-lcl-seed1")]
    assert Run(store.runs_dir / "small-objective-lcl-seed1").read_status().status == "completed"
    assert Run(store.runs_dir / "small-objective-lcl-seed2").metrics_path.read_text() == kept
    assert not (store.runs_dir / "small-objective-lcl-seed1-2").exists()
    assert all(r.n == 2 for r in collect_results(sweep, store))


def test_a_completed_run_made_with_other_settings_is_not_silently_reused(small_sweep, tmp_path):
    sweep, store = small_sweep
    point = expand_grid(sweep, store.runs_dir)[0]
    run = store.create_run(point.config.replace(**{"optim.lr": 0.5}))
    run.write_status("completed")
    with pytest.raises(ConfigError, match="optim.lr differs"):
        plan_sweep(sweep, store)


def test_stop_ends_the_sweep_before_the_next_run(small_sweep):
    sweep, store = small_sweep
    stop = threading.Event()
    stop.set()
    assert list(run_sweep(sweep, store, stop=stop)) == []


def test_a_run_that_cannot_start_is_reported_and_the_sweep_goes_on(tmp_path, tiny):
    sweep = sweep_from_dict({"name": "bad", "seeds": [1],
                             "grid": {"data.dataset": [str(tmp_path / "missing.csv"), tiny().data.dataset]},
                             "config": {"model.name": tiny().model.name, "train.epochs": 1,
                                        "train.device": "cpu", "data.max_length": 16}})
    progress = [p for p in run_sweep(sweep, RunStore(tmp_path / "r")) if p.kind == "finished"]
    assert progress[0].status == "failed" and "file not found" in progress[0].error
    assert progress[1].status == "completed"


# --- the command -----------------------------------------------------------------------------------------


def test_cli_sweep_dry_run_then_run_writes_tables(small_sweep, tmp_path):
    from lcl_tui.cli import app

    sweep, store = small_sweep
    runner = CliRunner()
    dry = runner.invoke(app, ["sweep", str(sweep.source), "--runs-dir", str(store.runs_dir), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 setting(s) x 2 seed(s) = 4 runs: 0 done, 4 to train (4 new)" in dry.output
    assert "small-objective-lcl-seed2" in dry.output
    assert not store.runs_dir.exists() or not list(store.runs())

    result = runner.invoke(app, ["sweep", str(sweep.source), "--runs-dir", str(store.runs_dir)])
    assert result.exit_code == 0, result.output
    assert "| objective=ce | 2 |" in result.output
    markdown = (store.runs_dir / "small-results.md").read_text()
    assert "| objective=lcl | 2 |" in markdown
    csv_rows = (store.runs_dir / "small-results.csv").read_text().splitlines()
    assert csv_rows[0].split(",")[:3] == ["setting", "variant", "loss.objective"] and len(csv_rows) == 3

    again = runner.invoke(app, ["sweep", str(sweep.source), "--runs-dir", str(store.runs_dir)])
    assert again.exit_code == 0 and "4 runs: 4 done, 0 to train" in again.output
    assert "Δ accuracy" not in again.output  # no baseline named: the table as before

    # Naming a baseline afterwards reprints the table with the differences; nothing retrains.
    logs = {run.run_id: run.metrics_path.read_text() for run in store.runs()}
    compared = runner.invoke(app, ["sweep", str(sweep.source), "--runs-dir", str(store.runs_dir),
                                   "--baseline", "objective=ce"])
    assert compared.exit_code == 0, compared.output
    assert "4 runs: 4 done, 0 to train" in compared.output and "start (" not in compared.output
    assert {run.run_id: run.metrics_path.read_text() for run in store.runs()} == logs
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in compared.output.splitlines() if line.startswith("| objective=")}
    assert rows["objective=ce"][3:] == ["baseline", "-", "-", "-", "-", "-"]
    by_seed = {(run.load_config().loss.objective, run.load_config().train.seed): run.snapshot().test_eval.accuracy
               for run in store.runs()}
    gain = sum(by_seed[("lcl", s)] - by_seed[("ce", s)] for s in (1, 2)) / 2
    seeds_cell, bootstrap_cell, p_cell = rows["objective=lcl"][3:6]
    assert seeds_cell.startswith(f"{100 * gain:+.1f} [") and bootstrap_cell.startswith(f"{100 * gain:+.1f} [")
    assert p_cell == "<0.001" or 0 < float(p_cell) <= 1
    assert "Δ: the setting minus the baseline `objective=ce`" in compared.output
    csv_text = (store.runs_dir / "small-results.csv").read_text()
    header, ce_row, lcl_row = [row.split(",") for row in csv_text.splitlines()]
    lcl = dict(zip(header, lcl_row))
    assert lcl["baseline"] == "objective=ce" and lcl["pairs"] == "2" and lcl["bootstrap_pairs"] == "2"
    assert float(lcl["accuracy_diff"]) == pytest.approx(gain, abs=1e-4)
    assert float(lcl["accuracy_diff_boot_low"]) <= float(lcl["accuracy_diff"]) <= float(lcl["accuracy_diff_boot_high"])

    # A run from before predictions were stored keeps its seed interval; its bootstrap says n/a.
    (store.runs_dir / "small-objective-ce-seed1" / "test_predictions.json").unlink()
    older = runner.invoke(app, ["sweep", str(sweep.source), "--runs-dir", str(store.runs_dir),
                                "--baseline", "small-objective-ce"])  # a slug without the sweep's name
    assert older.exit_code == 2 and "names no setting" in older.output
    older = runner.invoke(app, ["sweep", str(sweep.source), "--runs-dir", str(store.runs_dir),
                                "--baseline", "objective-ce"])
    assert older.exit_code == 0, older.output
    row = next(line for line in older.output.splitlines() if line.startswith("| objective=lcl"))
    assert f"| {seeds_cell} | n/a (no stored test predictions) | n/a |" in row


def test_cli_sweep_errors_are_one_line(tmp_path):
    from lcl_tui.cli import app

    path = tmp_path / "bad.toml"
    path.write_text("[grid]\nloss.alpha = 3\n")
    result = CliRunner().invoke(app, ["sweep", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "must be a non-empty list" in result.output


def test_status_json_is_what_resume_reads(small_sweep):
    # The resume logic trusts status.json; a run killed mid-way reads as interrupted and is redone.
    sweep, store = small_sweep
    point = expand_grid(sweep, store.runs_dir)[0]
    run = store.create_run(point.config)
    run.release_writer()  # as its process would on dying
    raw = json.loads(run.status_path.read_text())
    raw["pid"] = 2 ** 22 + 12345  # no such process
    run.status_path.write_text(json.dumps(raw))
    assert run.read_status().status == "interrupted"
    assert plan_sweep(sweep, store)[0].action == "redo"


# --- signals, the plan line, large sweeps ----------------------------------------------------------------


def test_sigterm_stops_the_sweep_with_a_checkpoint_and_a_rerun_resumes_it(tmp_path, tiny):
    """A scheduler's pre-emption (SIGTERM) mid-run: the run stops after its step with a
    checkpoint and reads stopped; the same sweep run again continues it from there."""
    import signal
    import subprocess
    import sys
    import time

    from lcl_tui.events import RunStarted, StepEvent

    save_config(tiny(train__epochs=6, train__eval_every_steps=3, loss__objective="ce"), tmp_path / "base.toml")
    path = tmp_path / "long.toml"
    path.write_text('name = "long"\nbase = "base.toml"\nseeds = [1]\n')
    runs_dir = tmp_path / "sweep-runs"
    run = Run(runs_dir / "long-seed1")
    child = subprocess.Popen([sys.executable, "-m", "lcl_tui.cli", "sweep", str(path), "--runs-dir", str(runs_dir)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while run.last_checkpoint is None and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "stopping after this step" in err and "long-seed1: stopped" in err
    assert "sweep stopped; run `lcl-tui sweep" in err and "Traceback" not in err
    assert run.read_status().status == "stopped"
    saved = int(run.last_checkpoint.name.split("-")[1])
    assert 3 <= saved < run.snapshot().total_steps

    sweep, store = load_sweep(path), RunStore(runs_dir)
    assert [(p.action, p.reason) for p in plan_sweep(sweep, store)] == [("resume", "stopped")]
    events = []
    progress = list(run_sweep(sweep, store, subscribers=[events.append]))
    assert [(p.kind, p.status) for p in progress] == [("started", "resume"), ("finished", "completed")]
    started = [e for e in events if isinstance(e, RunStarted)]
    assert started[0].resumed_from_step == saved
    assert [e for e in events if isinstance(e, StepEvent)][0].step == saved + 1
    assert [r.run_id for r in store.runs()] == ["long-seed1"]  # continued, not redone beside it


@pytest.fixture
def big_sweep(tmp_path, tiny):
    save_config(tiny(train__epochs=1), tmp_path / "base.toml")
    path = tmp_path / "big.toml"
    path.write_text('name = "big"\nbase = "base.toml"\nseeds = [1, 2, 3]\n'
                    '[grid]\nloss.alpha = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n'
                    'optim.lr = [1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4, 3e-4, 5e-4]\n')
    return path


def test_a_sweep_above_200_runs_needs_yes_without_a_terminal(big_sweep, tmp_path):
    from lcl_tui.cli import app

    runs_dir = tmp_path / "big-runs"
    result = CliRunner().invoke(app, ["sweep", str(big_sweep), "--runs-dir", str(runs_dir)])
    assert result.exit_code == 2, result.output
    assert result.stdout.splitlines()[0] == (f"sweep big: 72 setting(s) x 3 seed(s) = 216 runs: 0 done, 216 to "
                                             f"train (216 new), in {runs_dir}")
    assert result.stderr.splitlines() == [
        "error: this sweep would train 216 runs (more than 200); check its [grid] and seeds, and add --yes to "
        "start it without a terminal to confirm on"]
    assert not runs_dir.exists()
    dry = CliRunner().invoke(app, ["sweep", str(big_sweep), "--runs-dir", str(runs_dir), "--dry-run"])
    assert dry.exit_code == 0 and dry.output.count("  run  ") == 216


def test_a_sweep_above_200_runs_asks_on_a_terminal(big_sweep, tmp_path, monkeypatch):
    import lcl_tui.cli as cli
    import lcl_tui.cli_sweep as cli_sweep

    monkeypatch.setattr(cli_sweep, "stdin_is_a_terminal", lambda: True)
    runs_dir = tmp_path / "big-runs"
    result = CliRunner().invoke(cli.app, ["sweep", str(big_sweep), "--runs-dir", str(runs_dir)], input="n\n")
    assert result.exit_code == 1, result.output
    assert "Train 216 runs? [y/N]" in result.output and "not started" in result.stderr
    assert not runs_dir.exists()


def test_a_redo_leaves_a_folder_another_process_writes_alone(small_sweep):
    """make_room locks the old attempt before deleting it: one that another process took
    up since the plan was made is skipped, not deleted under it."""
    import subprocess
    import sys

    sweep, store = small_sweep
    point = expand_grid(sweep, store.runs_dir)[0]
    run = store.create_run(point.config)
    run.write_status("failed", error="boom")
    run.release_writer()
    assert plan_sweep(sweep, store)[0].action == "redo"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(run.path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        first = next(run_sweep(sweep, store))
        assert first.kind == "skipped" and first.status.startswith("busy: run small-objective-ce-seed1 is being "
                                                                    f"written by pid {holder.pid}")
        assert run.config_path.is_file() and run.read_status().status == "failed"
    finally:
        holder.communicate("", timeout=30)


HOLD_THE_LOCK = """
import sys
from lcl_tui.runstore import Run
run = Run(sys.argv[1])
run.acquire_writer()
print("locked", flush=True)
sys.stdin.read()
"""
