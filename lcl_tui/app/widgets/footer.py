"""The footer's keys, composed again only when the keys it shows change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

ShownKeys = tuple[tuple[str, str, bool, str], ...]


class KeyFooter(Footer):
    """Textual's Footer builds a widget for each key, again, on every change of focus: three
    layouts of the whole screen for one tab switch (the focus moves twice), and the same
    keys more often than not (Tab between two fields of the form). Here it is built once
    for the changes of one refresh, and only when what it shows differs."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._composed: ShownKeys | None = None
        self._check_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._check_pending:
            return
        if self.is_attached and screen is self.screen:
            self._check_pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._check_pending = False
        shown = self.shown_keys()
        if shown != self._composed:
            self._composed = shown
            await self.recompose()

    def shown_keys(self) -> ShownKeys:
        """What the footer would show now: each key, its label, whether enabled, its tooltip."""
        keys = [(binding.key, binding.description, enabled, tooltip)
                for _, binding, enabled, tooltip in self.screen.active_bindings.values() if binding.show]
        return tuple(keys)
