"""The sweep tab: start a sweep file from the app, watch its table fill in, stop it, rerun it."""

import json

from lcl_tui.app.sweep_session import SweepSession, describe_states
from lcl_tui.app.widgets.sweep import SweepTable
from lcl_tui.runstore import Run, RunStore
from lcl_tui.sweep import load_sweep

from test_app_fakes import (
    LABELS,
    FakeTrainer,
    build_app,
    fake_eval,
    notifications,
    screen_text,
    wait_until,
)


class ScoringTrainer(FakeTrainer):
    """A fake trainer that ends with a test evaluation whose accuracy the seed decides."""

    def __call__(self, config, *, store=None, stop=None, subscribers=(), run=None, threads=None):
        captured = []
        result = super().__call__(config, store=store, stop=stop,
                                  subscribers=[*subscribers, captured.append], run=run, threads=threads)
        if result.status == "completed":
            test = fake_eval(10 * config.train.seed, LABELS, split="test")
            result.run.append_event(test)
            result.test = test
        return result


def write_sweep(tmp_path, name="grid", seeds=(1, 2), extra="") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ndescription = "two objectives"\nseeds = {list(seeds)}\n{extra}'
        '[[variants]]\nlabel = "ce"\nloss.objective = "ce"\n'
        '[[variants]]\nlabel = "lcl"\nloss.objective = "lcl"\n')
    return str(path)


def table_rows(app) -> list[list[str]]:
    table = app.query_one(SweepTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_a_sweep_started_from_the_app_fills_its_table_and_writes_the_results(tmp_path):
    trainer = ScoringTrainer(steps=12)
    app = build_app(tmp_path, trainer, sweep_file=write_sweep(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.session.sweep is not None and app.main_screen.active_tab == "sweep")
        # The last message of a sweep: its tables are written.
        await wait_until(pilot, lambda: any("Sweep grid ended" in m for m in notifications(app)), timeout=60)
        assert trainer.calls == 4  # 2 settings x 2 seeds, one at a time
        rows = {row[0]: row for row in table_rows(app)}
        expected = {seed: fake_eval(10 * seed, LABELS, split="test").accuracy for seed in (1, 2)}
        mean = 100 * (expected[1] + expected[2]) / 2
        for label in ("ce", "lcl"):
            assert rows[label][1] == "2" and rows[label][2].startswith(f"{mean:.1f} ± ")
            assert rows[label][4] == "2 completed"
        markdown, csv = app.session.sweep.results_paths
        assert markdown.read_text().count("| 2 |") == 2 and "ce" in csv.read_text()
        assert "Sweep grid" in screen_text(app) and "4 completed" in screen_text(app)

        await pilot.press("enter")  # the first setting's last run, in the monitor
        await wait_until(pilot, lambda: app.main_screen.active_tab == "monitor"
                                        and app.session.selected is not None)
        assert app.session.selected.title == "grid-ce-seed2"


async def test_a_sweep_with_a_baseline_shows_the_differences_from_it(tmp_path):
    trainer = ScoringTrainer(steps=3)  # the seed decides the score: lcl ties ce on every seed
    app = build_app(tmp_path, trainer, sweep_file=write_sweep(tmp_path, extra='baseline = "ce"\n'))
    async with app.run_test(size=(160, 36)) as pilot:
        await wait_until(pilot, lambda: app.session.sweep is not None
                                        and app.session.sweep.results_paths is not None,
                         timeout=60)
        table = app.main_screen.sweep_pane.table
        assert [str(c.label) for c in table.columns.values()] == [
            "setting", "n", "test acc %", "macro-F1 %", "Δ acc (seeds)", "Δ acc (bootstrap)",
            "Δ F1 (seeds)", "Δ F1 (bootstrap)", "runs"]
        rows = {row[0]: row for row in table_rows(app)}
        assert rows["ce"][4:8] == ["baseline", "-", "-", "-"]
        # The fake trainer stores no test predictions: the seed interval only.
        assert rows["lcl"][4:8] == ["+0.0 [+0.0, +0.0]", "n/a (no stored test predictions)"] * 2
        assert rows["lcl"][8] == "2 completed"
        assert "Δ accuracy, seeds" in app.session.sweep.results_paths[0].read_text()


async def test_rerunning_a_sweep_skips_its_finished_runs_and_redoes_a_failed_one(tmp_path):
    sweep_file = write_sweep(tmp_path)
    runs = tmp_path / "runs"
    first = build_app(tmp_path, ScoringTrainer(steps=5), sweep_file=sweep_file)
    async with first.run_test() as pilot:
        await wait_until(pilot, lambda: first.session.sweep is not None
                                        and first.session.sweep.results_paths is not None,
                         timeout=60)
    failed = Run(runs / "grid-lcl-seed1")
    failed.write_status("failed", error="out of memory")
    (failed.path / "leftover.txt").write_text("from the failed attempt")

    trainer = ScoringTrainer(steps=5)
    again = build_app(tmp_path, trainer)
    async with again.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: again.main_screen.sweep_pane.is_mounted)
        await pilot.press("f6", "o")
        await pilot.pause()
        await pilot.press("ctrl+u", *sweep_file, "enter")
        await wait_until(pilot, lambda: again.session.sweep is not None
                                        and again.session.sweep.results_paths is not None,
                         timeout=60)
        assert trainer.calls == 1
        assert again.session.sweep.counts() == describe_counts(completed=1, skipped=3)
        assert not (failed.path / "leftover.txt").exists()  # the old attempt gave way
        assert json.loads(failed.status_path.read_text())["status"] == "completed"
        assert any("1 run(s) to train, 3 done before" in m for m in notifications(again))


def describe_counts(**counts):
    from collections import Counter

    return Counter(counts)


async def test_stopping_a_sweep_stops_the_training_run_and_the_queued_ones_never_start(tmp_path):
    trainer = ScoringTrainer(steps=10_000, step_seconds=0.01)
    app = build_app(tmp_path, trainer, sweep_file=write_sweep(tmp_path, seeds=(1, 2, 3)))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.session.sweep is not None and trainer.started.is_set())
        await pilot.press("f6", "x")
        await wait_until(pilot, lambda: not app.session.sweep.active, timeout=30)
        assert trainer.calls == 1
        assert app.session.sweep.counts() == describe_counts(stopped=6)
        await wait_until(pilot, lambda: app.session.sweep.results_paths is not None)
        await pilot.press("x")  # nothing left to stop: a warning, not a crash
        await wait_until(pilot, lambda: any("No sweep is running" in m for m in notifications(app)))


async def test_a_bad_sweep_file_is_a_notification_and_the_app_keeps_running(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid]\nloss.alpha = 3\n")
    app = build_app(tmp_path, FakeTrainer(steps=3), sweep_file=str(bad))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: any("bad.toml" in m for m in notifications(app)))
        assert app.session.sweep is None
        app.main_screen.start_sweep(str(tmp_path / "missing.toml"))
        await wait_until(pilot, lambda: any("missing.toml" in m for m in notifications(app)))
        await pilot.press("f6")
        assert app.main_screen.active_tab == "sweep" and "No sweep yet" in screen_text(app)


async def test_a_second_sweep_waits_for_the_first(tmp_path):
    trainer = ScoringTrainer(steps=10_000, step_seconds=0.01)
    app = build_app(tmp_path, trainer, sweep_file=write_sweep(tmp_path))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.session.sweep is not None and trainer.started.is_set())
        app.main_screen.start_sweep(write_sweep(tmp_path, name="other"))
        await wait_until(pilot, lambda: any("still running" in m for m in notifications(app)))
        assert app.session.sweep.name == "grid"
        app.main_screen.action_stop_sweep()
        await wait_until(pilot, lambda: not app.session.sweep.active, timeout=30)


def test_session_plan_counts_and_targets_without_an_app(tmp_path):
    store = RunStore(tmp_path / "runs")
    session = SweepSession.load(write_sweep(tmp_path), store)
    assert [p.action for p in session.plan] == ["run"] * 4
    assert session.run_target("ce") is None  # nothing queued yet
    assert describe_states(session.counts()) == "nothing planned"
    from lcl_tui.app.run_queue import RunQueue

    queue = RunQueue()
    lives = session.enqueue(queue)
    assert len(lives) == 4 and session.active
    assert describe_states(session.counts()) == "4 queued"
    assert session.run_target("ce") == lives[0].key
    assert session.sweep.name == load_sweep(session.source).name
