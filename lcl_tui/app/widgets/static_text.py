"""Update a Static only when its content changes.

`Static.update` asks the whole screen for a new layout, even with the same text: the
monitor redraws four times a second and every screen element would be laid out again each
time. With the same content there is nothing to lay out, so nothing is asked.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def update_if_changed(static: Static, content: VisualType) -> bool:
    """Show `content` in `static` unless it shows that already; True when it was updated."""
    if static.content == content:
        return False
    static.update(content)
    return True
