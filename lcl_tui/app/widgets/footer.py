"""The footer's keys, drawn as one line of text by one widget.

Textual's Footer mounts a widget for each key and mounts them again on every change of
focus: for one tab switch (the focus moves twice) that was a recompose, styles for a dozen
new widgets and a layout of the whole screen, about a third of the switch's CPU. Here a
change of keys repaints this one line, and the layout is never asked for. It looks the same
(the stylesheet below is Footer's, for one widget): the keys on the left, the command
palette's key against the right edge, a disabled key dim; hovering shows a key's tooltip,
and a click posts `Clicked` for the screen to run the key's action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.binding import ActiveBinding


@dataclass(frozen=True)
class ShownKey:
    """One key as the footer shows it."""

    key: str  # what a click simulates
    display: str  # how it is drawn: "^s", "f2"
    description: str
    enabled: bool
    tooltip: str


@dataclass(frozen=True)
class KeySpan:
    """Where a key was drawn, for the mouse."""

    start: int
    end: int
    shown: ShownKey


class KeyFooter(Widget, can_focus=False):
    COMPONENT_CLASSES = {
        "key-footer--key",
        "key-footer--description",
        "key-footer--hover",
        "key-footer--separator",
    }
    ALLOW_SELECT = False
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        .key-footer--separator {
            color: $foreground 20%;
        }
    }
    """

    class Clicked(Message):
        """A key was clicked: the screen runs its action, or rings for a disabled one."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._spans: list[KeySpan] = []
        self._hovered: ShownKey | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        # Repaint only: the keys are read in `render`, so several changes in one refresh
        # (the focus moving twice) draw once.
        if screen is self.screen:
            self.refresh()

    # --- what is shown ---------------------------------------------------------------------

    def shown_keys(self, active: Mapping[str, ActiveBinding]) -> list[ShownKey]:
        """The keys on the left: one per action (the first bound), as Footer shows them."""
        keys: dict[str, ShownKey] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in keys:
                keys[binding.action] = ShownKey(binding.key, self.app.get_key_display(binding),
                                                binding.description, enabled, tooltip)
        return list(keys.values())

    def palette_key(self, active: Mapping[str, ActiveBinding]) -> ShownKey | None:
        """The command palette's key, drawn at the right edge, or None without a palette."""
        if not self.app.ENABLE_COMMAND_PALETTE:
            return None
        try:
            _, binding, enabled, _ = active[self.app.COMMAND_PALETTE_BINDING]
        except KeyError:
            return None
        return ShownKey(binding.key, self.app.get_key_display(binding), binding.description, enabled,
                        binding.tooltip or binding.description)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        hover_style = self.get_component_rich_style("key-footer--hover")
        active = self.screen.active_bindings  # computed on each read: once per render
        line = Text(no_wrap=True, end="")
        spans: list[KeySpan] = []

        def add(shown: ShownKey, key_text: str, description_text: str) -> None:
            start = line.cell_len
            line.append(key_text, key_style)
            line.append(description_text, description_style)
            if not shown.enabled:
                line.stylize(Style(dim=True), start, line.cell_len)
            if shown == self._hovered:
                line.stylize_before(hover_style, start, line.cell_len)
            spans.append(KeySpan(start, line.cell_len, shown))

        for shown in self.shown_keys(active):
            add(shown, f" {shown.display} ", f"{shown.description} " if shown.description else "")
        palette = self.palette_key(active)
        if palette is not None:
            # Footer docks this key right, behind a thin rule, over any keys that do not fit.
            rule, description, padding = "▏", f" {palette.description}", " "
            tail = cell_len(rule + palette.display + description + padding)
            line.truncate(max(0, self.size.width - tail), pad=True)
            spans = [span for span in spans if span.end <= line.cell_len]
            line.append(rule, self.get_component_rich_style("key-footer--separator"))
            add(palette, palette.display, description)
            line.append(padding)
        self._spans = spans
        return line

    # --- the mouse -------------------------------------------------------------------------

    def _key_at(self, x: int) -> ShownKey | None:
        for span in self._spans:
            if span.start <= x < span.end:
                return span.shown
        return None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        shown = self._key_at(event.x)
        if shown is not None:
            self.post_message(self.Clicked(shown.key))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(self._key_at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._hover(None)

    def _hover(self, shown: ShownKey | None) -> None:
        if shown != self._hovered:
            self._hovered = shown
            self.tooltip = shown.tooltip or None if shown is not None else None
            self.refresh()

