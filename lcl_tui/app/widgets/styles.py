"""How a run's state reads on screen, shared by the monitor header and the runs list."""

from __future__ import annotations

from lcl_tui.run_state import RunState

STATE_STYLES = {
    RunState.QUEUED: "yellow", RunState.STARTING: "yellow", RunState.RUNNING: "bold green",
    RunState.COMPLETED: "bold cyan", RunState.STOPPED: "yellow", RunState.FAILED: "bold red",
    RunState.INTERRUPTED: "red",
}
