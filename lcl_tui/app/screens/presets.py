"""Presets and datasets: the main screen's part that fills the setup form from a TOML
preset, saves the form as one, and lists the registry's datasets for it."""

from __future__ import annotations

from textual import on, work

from lcl_tui.app.messages import DatasetsListed, OpenPresetRequested, PresetChosen, SavePresetRequested
from lcl_tui.app.outcomes import Notice
from lcl_tui.app.screens.base import MainScreenBase
from lcl_tui.app.screens.dialogs import PathDialog
from lcl_tui.config import presets_dir


class Presets(MainScreenBase):
    def load_preset(self, name_or_path: str) -> None:
        loaded = self.session.load_preset(name_or_path)
        if isinstance(loaded, Notice):
            self.show(loaded)
            return
        self.setup_pane.fill(loaded.config, loaded.name)
        self.show(Notice(f"Loaded preset {loaded.name}"))

    @on(PresetChosen)
    def _on_preset_chosen(self, message: PresetChosen) -> None:
        self.load_preset(message.name)

    def action_save_preset(self) -> None:
        result = self.setup_pane.validate_form()
        if not result.ok:
            self.show_form_errors()
            return
        default = presets_dir() / f"{result.config.name or 'experiment'}.toml"

        def save(path: str | None) -> None:
            if path:
                self.show(self.session.save_preset(result.config, path))

        self.app.push_screen(PathDialog("Save the setup as a TOML preset:", str(default), "Save"), save)

    @on(SavePresetRequested)
    def _on_save_preset_requested(self) -> None:
        self.action_save_preset()

    def action_open_preset_file(self) -> None:
        def load(path: str | None) -> None:
            if path:
                self.load_preset(path)

        self.app.push_screen(PathDialog("Open a TOML preset (a path or a preset name):", "", "Open"), load)

    @on(OpenPresetRequested)
    def _on_open_preset_requested(self) -> None:
        self.action_open_preset_file()

    @work(thread=True, exit_on_error=False, group="datasets")
    def list_datasets(self) -> None:
        # Without the list, the form still takes a typed name or path.
        self.post_from_worker(lambda: DatasetsListed(self.session.list_datasets()),
                              lambda line: Notice(f"Dataset list unavailable: {line}", "warning"))

    @on(DatasetsListed)
    def _on_datasets(self, message: DatasetsListed) -> None:
        self.setup_pane.set_datasets(message.datasets)
