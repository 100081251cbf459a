"""How figures and errors read on screen and in tables: one helper each, shared by the
CLI, the sweep tables and the app."""

from __future__ import annotations

import re

from lcl_tui.errors import UserError

# What a table cell shows for a figure that does not exist (yet): on screen, and in plain
# text (the CLI's tables, the Markdown results), where an ASCII hyphen survives any log or paste.
MISSING = "—"
PLAIN_MISSING = "-"


def percent(value: float | None, *, sign: bool = False, missing: str = MISSING) -> str:
    """`0.6453` -> `64.5` (a table whose header says %)."""
    if value is None:
        return missing
    return f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"


def percent_label(value: float | None, missing: str = MISSING) -> str:
    """`0.6453` -> `64.5%` (a figure standing alone)."""
    return missing if value is None else f"{percent(value)}%"


def mean_std(mean: float | None, std: float | None, missing: str = MISSING) -> str:
    """Percent mean ± std over seeds: `64.5 ± 1.2`, or `64.5` for one seed."""
    if mean is None:
        return missing
    return f"{percent(mean)} ± {percent(std)}" if std is not None else percent(mean)


def slug(text: str, limit: int | None = None, empty: str = "") -> str:
    """A piece of a file or run name: letters, digits, `.`, `_` and `-`."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    if limit is not None:
        cleaned = cleaned[:limit]
    return cleaned or empty


def one_line(error: BaseException) -> str:
    """An error as one line for a notification: a user's mistake as it is worded, anything
    else as its type and the first line of its message."""
    if isinstance(error, UserError):
        return str(error)
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
