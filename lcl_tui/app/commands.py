"""The command palette (Ctrl+P): the app's main actions, presets and runs by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from lcl_tui.catalog import sweep_files
from lcl_tui.run_state import RESUMABLE

if TYPE_CHECKING:
    from lcl_tui.app.app import LclTuiApp

DISCOVERED = 17  # the actions listed before anything is typed: all but the presets and runs


class LclCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = cast("LclTuiApp", self.app)
        screen, session = app.main_screen, app.session
        commands: list[tuple[str, Callable[[], object], str]] = [
            ("Train with the current setup", screen.action_train, "Queue a run from the setup form (Ctrl+T)"),
            ("Stop the selected run", screen.action_stop_selected, "Ends within a training step (x)"),
            ("Stop all runs", screen.action_stop_all, "Stop every queued and training run"),
            ("Resume the selected run", screen.action_resume_selected,
             "Continue a stopped, failed or interrupted run from its last checkpoint (u)"),
            ("Show setup", partial(screen.action_show_tab, "setup"), "Experiment form (F2)"),
            ("Show monitor", partial(screen.action_show_tab, "monitor"), "Curves and confusion (F3)"),
            ("Show prompt", partial(screen.action_show_tab, "prompt"), "Ask the model (F4)"),
            ("Show runs", partial(screen.action_show_tab, "runs"), "Runs in the runs folder (F5)"),
            ("Show sweep", partial(screen.action_show_tab, "sweep"), "The running sweep's table (F6)"),
            ("Run a sweep file", screen.action_open_sweep_file, "Grid x seeds through the queue (o in the sweep tab)"),
            ("Stop the sweep", screen.action_stop_sweep, "Stop every queued and training run of the sweep"),
            ("Save preset", screen.action_save_preset, "Save the setup as TOML (Ctrl+S in setup)"),
            ("Open preset file", screen.action_open_preset_file, "Load a TOML preset from a path"),
            ("Toggle confusion counts / row %", screen.action_toggle_normalised, "n in the monitor"),
            ("Next evaluation view", screen.action_cycle_details, "Confusion, per-class, pairs (v)"),
            ("Clear comparison", screen.action_clear_compare, "Remove the overlaid run"),
            ("Refresh runs", screen.action_refresh_runs, "Re-read the runs folder"),
        ]
        for name in session.preset_names:
            commands.append((f"Load preset {name}", partial(screen.load_preset, name), "Fill the setup form"))
        for path in (entry.path for entry in sweep_files()):  # shipped, and yours in ./sweeps
            commands.append((f"Run sweep {path.stem}", partial(screen.start_sweep, str(path)), str(path)))
        for summary in session.run_summaries:
            path = str(summary.path)
            commands.append((f"Open run {summary.run_id}", partial(screen.open_target, path, then="monitor"),
                             f"{summary.status} · {summary.dataset} · {summary.objective}"))
            if summary.status in RESUMABLE:
                commands.append((f"Resume run {summary.run_id}", partial(screen.resume_run, path),
                                 "Continue from its last checkpoint"))
            commands.append((f"Compare with run {summary.run_id}",
                             partial(screen.open_target, path, compare=True, then="monitor"),
                             "Overlay its curves on the open run"))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands()[:DISCOVERED]:
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
