"""Update a Static without asking for a new layout unless its size changes.

`Static.update` asks the whole screen for a new layout, even for the same text or for text
of the same height: a layout of every widget on screen, then a repaint of each that moved.
The monitor's header changes every step (step, elapsed, ETA) at the same height, so most
of its updates need only a repaint of itself.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def update_if_changed(static: Static, content: VisualType) -> bool:
    """Show `content` in `static` unless it shows that already; True when it was updated.
    A layout is asked for only when the new content needs another height."""
    if static.content == content:
        return False
    width, height = static.content_region.width, static.content_region.height
    if not static.is_mounted or not width or (static.styles.width is not None and static.styles.width.is_auto):
        static.update(content)  # not laid out yet, or its width follows its content
        return True
    static.update(content, layout=False)
    if static.get_content_height(static.parent.size if static.parent else static.size,
                                 static.app.size, width) != height:
        static.refresh(layout=True)
    return True
