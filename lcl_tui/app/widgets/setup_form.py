"""The experiment setup form: preset, dataset, model, loss and hyperparameters.

Every change is validated with the config's own rules, and each error is shown under
the field whose key it names, before anything can start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

from lcl_tui.app.form_model import (
    COLUMN_KEYS,
    FIELDS,
    FieldSpec,
    FormResult,
    build_config,
    form_values,
    is_local_file,
)
from lcl_tui.app.messages import OpenPresetRequested, PresetChosen, SavePresetRequested, TrainRequested
from lcl_tui.config import PACKAGED_MODEL, RunConfig

if TYPE_CHECKING:
    from lcl_tui.data import DatasetInfo

LOCAL_FILE = "__local_file__"
MODEL_SUGGESTIONS = [PACKAGED_MODEL, "bert-base-uncased", "roberta-base", "distilbert-base-uncased",
                     "sentence-transformers/all-MiniLM-L6-v2", "google/electra-base-discriminator"]


def field_id(key: str) -> str:
    return "field-" + key.replace(".", "-").replace("_", "-")


def _size(size: int | None) -> str:
    return f"{size:,} examples" if isinstance(size, int) else "size unknown"


def _labels(count: int | None) -> str:
    return f"{count} labels" if isinstance(count, int) else "labels unknown"


class FormRow(Container):
    """A label and a control on one line (a two-column grid: see app.tcss)."""

    def __init__(self, label: str, control: Input | Select, **kwargs):
        super().__init__(classes="form-row", **kwargs)
        self.label = label
        self.initial_control = control

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield self.initial_control


class ConfigField(FormRow):
    """One config key: label, control, and its error line underneath when there is one."""

    def __init__(self, spec: FieldSpec, value: str = "", **kwargs):
        # The first values go in the constructors: no change events, no validation at start-up.
        if spec.kind == "choice":
            control = Select(list(spec.choices), allow_blank=False, compact=True, classes="field-control",
                             value=value or spec.choices[0][1])
        else:
            suggester = SuggestFromList(MODEL_SUGGESTIONS) if spec.key == "model.name" else None
            control = Input(value, placeholder=spec.placeholder, compact=True, suggester=suggester,
                            classes="field-control")
        super().__init__(spec.label, control, id=field_id(spec.key), **kwargs)
        self.add_class("config-field")
        self.spec = spec
        self._shown_error: str | None = None
        # Made on the first error: twenty empty lines would slow the first frame for nothing.
        self._error_line: Static | None = None

    @property
    def control(self) -> Input | Select:
        return self.initial_control

    @property
    def value(self) -> str:
        control = self.control
        if isinstance(control, Select):
            return "" if control.value is Select.NULL else str(control.value)
        return control.value

    @value.setter
    def value(self, text: str) -> None:
        control = self.control
        if isinstance(control, Select):
            control.value = text
        else:
            control.value = text

    def show_error(self, message: str | None) -> None:
        if message == self._shown_error:
            return  # re-rendering twenty unchanged lines on every key press adds up
        self._shown_error = message
        if self._error_line is None:
            if not message:
                return
            self._error_line = Static(message, classes="field-error")
            self.mount(self._error_line)
        else:
            self._error_line.update(message or "")
        self.set_class(bool(message), "-invalid")

    @property
    def error_text(self) -> str:
        return self._shown_error or ""


class SetupPane(VerticalScroll):
    BINDINGS = [
        Binding("ctrl+s", "save_preset", "Save preset", id="setup.save"),
        Binding("ctrl+o", "load_preset_file", "Open preset", id="setup.open"),
    ]

    def __init__(self, base: RunConfig, presets: list[str], concurrency: int = 1,
                 preset_name: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.base = base
        self.presets = presets
        self.concurrency = concurrency
        self.datasets: dict[str, DatasetInfo] = {}
        self.result: FormResult = FormResult(base)
        self._filling = False
        self._validation_pending = False
        self.preset_name = preset_name

    def compose(self) -> ComposeResult:
        yield Static("[b]Experiment setup[/b]  [dim]Ctrl+T train · Ctrl+S save preset · "
                     "Ctrl+O open a preset file · Tab/Shift+Tab move[/]", id="setup-title")
        yield FormRow("Preset", Select([(name, name) for name in self.presets], prompt="(choose a preset)",
                                       compact=True, id="preset-select",
                                       value=self.preset_name if self.preset_name in self.presets else Select.NULL))
        yield FormRow("Dataset registry", Select([("Local file… (type its path below)", LOCAL_FILE)],
                                                 prompt="(loading the dataset list…)", compact=True,
                                                 id="dataset-select"))
        yield Static("", id="dataset-info")
        values = form_values(self.base)
        for spec in FIELDS:
            yield ConfigField(spec, values[spec.key])
        yield FormRow("Parallel runs (queue)",
                      Input(str(self.concurrency), compact=True, id="concurrency", type="integer"))
        yield Static("", id="general-error")
        yield Button("Train  (Ctrl+T)", variant="success", id="train-button", compact=True)

    def on_mount(self) -> None:
        self.validate_form()

    def focus_main(self) -> bool:
        """Focus the form (its first control, unless one of its controls has focus already)."""
        focused = self.screen.focused
        if focused is None or self not in focused.ancestors:
            self.query_one("#preset-select").focus()
        return True

    # --- filling and reading ----------------------------------------------------------
    def fill(self, config: RunConfig, preset_name: str | None = None) -> None:
        """Show `config` in the form; fields not on the form keep its values too."""
        self.base = config
        self.preset_name = preset_name
        self._filling = True
        try:
            values = form_values(config)
            for field in self.query(ConfigField):
                field.value = values[field.spec.key]
            if preset_name is not None and preset_name in self.presets:
                self.query_one("#preset-select", Select).value = preset_name
        finally:
            self._filling = False
        self.validate_form()

    def values(self) -> dict[str, str]:
        return {f.spec.key: f.value for f in self.query(ConfigField)}

    def field(self, key: str) -> ConfigField:
        return self.query_one(f"#{field_id(key)}", ConfigField)

    def validate_form(self) -> FormResult:
        self.result = build_config(self.base, self.values(), set(self.datasets) if self.datasets else None)
        for field in self.query(ConfigField):
            field.show_error(self.result.errors.get(field.spec.key))
        self.query_one("#general-error", Static).update(
            f"[red]{self.result.general}[/]" if self.result.general else "")
        self._show_dataset_info()
        return self.result

    def first_invalid(self) -> ConfigField | None:
        return next((f for f in self.query(ConfigField) if f.spec.key in self.result.errors), None)

    def parallel_runs(self) -> int | None:
        text = self.query_one("#concurrency", Input).value.strip()
        return int(text) if text.isdigit() and int(text) >= 1 else None

    # --- datasets -------------------------------------------------------------------
    def set_datasets(self, datasets: list[DatasetInfo]) -> None:
        self.datasets = {d.name: d for d in datasets}
        self.validate_form()  # a name typed before the list came is checked against it now
        options = [(f"{d.name} — {_labels(d.num_labels)}, {_size(d.size)}", d.name) for d in datasets]
        options.append(("Local file… (type its path below)", LOCAL_FILE))
        select = self.query_one("#dataset-select", Select)
        select.set_options(options)
        select.prompt = "(choose a dataset)"
        self._sync_dataset_select()
        self._show_dataset_info()

    def _sync_dataset_select(self) -> None:
        current = self.field("data.dataset").value.strip()
        select = self.query_one("#dataset-select", Select)
        if current in self.datasets and select.value != current:
            self._filling = True
            select.value = current
            self._filling = False

    def _show_dataset_info(self) -> None:
        current = self.field("data.dataset").value.strip()
        info = self.datasets.get(current)
        local = is_local_file(current)
        for key in COLUMN_KEYS:
            self.field(key).display = local
        text = ""
        if info is not None:
            text = f"[dim]{info.description} · {_labels(info.num_labels)} · {_size(info.size)} · {info.source}[/]"
        elif local:
            text = "[dim]A local file: name its text and label columns below.[/]"
        self.query_one("#dataset-info", Static).update(text)

    # --- events --------------------------------------------------------------------------
    @on(Input.Changed, ".field-control")
    @on(Select.Changed, ".field-control")
    def _on_field_changed(self) -> None:
        if self._filling or self._validation_pending:
            return
        # Filling the form sends a change per field: validate once, after they are all in.
        self._validation_pending = True
        self.call_after_refresh(self._validate_after_change)

    def _validate_after_change(self) -> None:
        self._validation_pending = False
        self.validate_form()
        self._sync_dataset_select()

    @on(Select.Changed, "#dataset-select")
    def _on_dataset_chosen(self, event: Select.Changed) -> None:
        if self._filling or event.value is Select.NULL:
            return
        dataset_input = self.field("data.dataset").control
        if event.value == LOCAL_FILE:
            if not is_local_file(dataset_input.value):
                dataset_input.value = ""
            dataset_input.focus()
        else:
            dataset_input.value = str(event.value)

    @on(Select.Changed, "#preset-select")
    def _on_preset_chosen(self, event: Select.Changed) -> None:
        if self._filling or event.value is Select.NULL or event.value == self.preset_name:
            return
        self.post_message(PresetChosen(str(event.value)))

    @on(Button.Pressed, "#train-button")
    def _on_train_pressed(self) -> None:
        self.post_message(TrainRequested())

    def action_save_preset(self) -> None:
        self.post_message(SavePresetRequested())

    def action_load_preset_file(self) -> None:
        self.post_message(OpenPresetRequested())
