"""The app's tab container."""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class AppTabs(TabbedContent):
    """TabbedContent that ignores stale "a widget in this pane got focus" messages.

    Focusing a widget in a hidden pane switches to that pane, by a message that arrives
    later. If the user switched tabs (F3, Ctrl+T) in between, the stale message would
    pull the old tab back; act on it only while the focus is still inside that pane.
    """

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors_with_self:
            # Textual calls each class's handler in turn; prevent_default skips the base one.
            event.stop()
            event.prevent_default()
