"""The prompt pane: type a sentence, see the selected run's top labels as bars.

The model is the run's best checkpoint so far; when training saves a better one the
pane reloads it. Loading and predicting both run in thread workers. The pane is mounted
after the first frame (textual.lazy.Lazy); the run it is given before then, it shows on mount.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from lcl_tui.app.messages import ModelLoaded, PaneMounted, Predicted, Predicts
from lcl_tui.app.widgets.static_text import update_if_changed
from lcl_tui.text import one_line

if TYPE_CHECKING:
    from lcl_tui.app.outcomes import RunSource

TOP_K = 5
HISTORY_LIMIT = 100


def one_line_cut(text: str, width: int) -> str:
    """`text` on one line of at most `width` characters, cut with an ellipsis."""
    flat = " ".join(text.split())
    width = max(4, width)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class PredictionBars(Widget):
    """Top labels with probabilities as horizontal bars sized to the pane."""

    DEFAULT_CSS = "PredictionBars { height: auto; min-height: 3; }"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.text = ""
        self.labels: list[tuple[str, float]] = []
        self.note = "Type a sentence and press Enter."

    def show(self, text: str, labels: list[tuple[str, float]], note: str = "") -> None:
        self.text, self.labels, self.note = text, labels, note
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        note_lines = -(-len(self.note) // max(1, width)) if self.labels and self.note else 0
        return max(3, len(self.labels) + 2 + note_lines)

    def render(self) -> RenderResult:
        if not self.labels:
            return Text(self.note, style="dim")
        name_width = min(28, max(len(name) for name, _ in self.labels))
        bar_width = max(5, self.size.width - name_width - 9)
        # The prompt on one line: a long one would push its own answer out of view.
        out = Text.assemble(("“", "dim"), (one_line_cut(self.text, self.size.width - 2), "italic"), ("”", "dim"), "\n")
        if self.note:
            out.append(f"{self.note}\n", style="yellow")
        for rank, (name, probability) in enumerate(self.labels):
            filled = probability * bar_width
            whole = int(filled)
            bar = "█" * whole + (" ▏▎▍▌▋▊▉"[int((filled - whole) * 8)] if whole < bar_width else "")
            style = "bold green" if rank == 0 else "cyan"
            label = name if len(name) <= name_width else name[: name_width - 1] + "…"
            out.append(f"{label:<{name_width}} ", style="bold" if rank == 0 else "")
            out.append(f"{probability * 100:5.1f}% ")
            out.append(f"{bar}\n", style=style)
        out.rstrip()
        return out


class PromptInput(Input):
    """An input that walks back through earlier prompts with up and down."""

    BINDINGS = [
        Binding("up", "history(1)", "Older prompt", show=False),
        Binding("down", "history(-1)", "Newer prompt", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.history: list[str] = []  # newest first
        self._position = -1

    def remember(self, text: str) -> None:
        if text in self.history:
            self.history.remove(text)
        self.history.insert(0, text)
        del self.history[HISTORY_LIMIT:]
        self._position = -1

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._position = max(-1, min(len(self.history) - 1, self._position + step))
        self.value = "" if self._position < 0 else self.history[self._position]
        self.cursor_position = len(self.value)


class PromptPane(Vertical):
    def __init__(self, load_predictor: Callable[[Path], Predicts], **kwargs):
        super().__init__(**kwargs)
        self._load_predictor = load_predictor
        self.source: RunSource | None = None
        self.predictor: Predicts | None = None
        self.loaded_folder: str | None = None
        self.loading_folder: str | None = None
        self.pending: str | None = None
        self.load_error: str | None = None
        self.predict_count = 0
        self._failed_folder: str | None = None
        # (prompt, the run that answered, its line), newest first.
        self._history: list[tuple[str, str, Text]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="model-line")
        yield PromptInput(placeholder="Type a sentence and press Enter", id="prompt-input")
        yield PredictionBars(id="prediction")
        yield Static("[b]History[/b] [dim](Enter on a line predicts it again; ↑/↓ in the input recall)[/]",
                     id="history-title")
        yield OptionList(id="history")

    def on_mount(self) -> None:
        self._show_model_line()
        self.set_interval(1.0, self.check_model)
        self.post_message(PaneMounted(self))

    def focus_main(self) -> bool:
        """Focus the input and load the model; False before the pane is mounted."""
        if not self.is_mounted:
            return False
        self.query_one(PromptInput).focus()
        self.check_model(wanted=True)
        return True

    # --- which model --------------------------------------------------------------
    def set_source(self, source: RunSource | None) -> None:
        if source is self.source:
            return
        self.source = source
        self.predictor = None
        self.loaded_folder = None
        self.loading_folder = None
        self.load_error = None
        self.pending = None
        if self.is_mounted:  # the last run's answer is not this run's
            self.query_one(PredictionBars).show("", [], self._ask_note())
        self.check_model()
        self._show_model_line()

    def _ask_note(self) -> str:
        if self.source is None:
            return "Type a sentence and press Enter."
        return f"Type a sentence and press Enter: {self.source.title} answers."

    def _checkpoint(self) -> str | None:
        if self.source is None:
            return None
        best = self.source.best_checkpoint
        if best is None and self.source.run is not None:
            found = self.source.run.best_checkpoint or self.source.run.last_checkpoint
            best = str(found) if found is not None else None
        return best

    def check_model(self, wanted: bool = False) -> None:
        """Load the best checkpoint when there is a new one (called on a timer).

        Only while the pane is on screen (or a prompt waits): loading a model competes with
        training for the CPU, and nobody is asking.
        """
        self._show_model_line()
        if not (wanted or self.is_on_screen or self.pending is not None):
            return
        folder = self._checkpoint()
        if folder is None or folder in (self.loaded_folder, self.loading_folder):
            return
        if self.load_error is not None and folder == self._failed_folder:
            return
        self.loading_folder = folder
        self._show_model_line()
        self._load(folder)

    @work(thread=True, exclusive=True, group="load-model", exit_on_error=False)
    def _load(self, folder: str) -> None:
        try:
            predictor = self._load_predictor(Path(folder))
        except Exception as error:  # shown in the pane: a broken checkpoint must not end the app
            self.post_message(ModelLoaded(folder, error=one_line(error)))
        else:
            self.post_message(ModelLoaded(folder, predictor=predictor))

    @on(ModelLoaded)
    def _on_model_loaded(self, message: ModelLoaded) -> None:
        if message.folder != self.loading_folder:
            return  # a load for a run that is no longer selected
        self.loading_folder = None
        if message.error is not None:
            self.load_error = message.error
            self._failed_folder = message.folder
            self.notify(f"Could not load the model: {message.error}", severity="error")
        else:
            self.predictor = message.predictor
            self.loaded_folder = message.folder
            self.load_error = None
            if self.pending is not None:
                text, self.pending = self.pending, None
                self._predict(text)
        self._show_model_line()

    def _show_model_line(self) -> None:
        if not self.is_attached:
            return  # mounted after the first frame; on_mount shows it
        line = self.query_one("#model-line", Static)
        if self.source is None:
            update_if_changed(line, "[dim]No run selected: open one in Runs (F5) or train one (F2, Ctrl+T).[/]")
            return
        text = Text.assemble(("Model: ", "bold"), self.source.title)
        if self.loading_folder:
            text.append(f"  loading {Path(self.loading_folder).name}…", style="yellow")
        elif self.loaded_folder:
            text.append(f"  checkpoint {Path(self.loaded_folder).name}", style="green")
            if self.source.active:
                text.append(" (best so far; reloads when a better one is saved)", style="dim")
        elif self.load_error:
            text.append(f"  {self.load_error}", style="red")
        else:
            text.append("  no checkpoint yet: the first evaluation saves one", style="dim")
        update_if_changed(line, text)

    # --- predicting ---------------------------------------------------------------
    @on(Input.Submitted, "#prompt-input")
    def _on_submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.query_one(PromptInput).remember(text)
        self.query_one(PromptInput).value = ""
        self.ask(text)

    def ask(self, text: str) -> None:
        bars = self.query_one(PredictionBars)
        if self.predictor is None:
            if self.source is None:
                bars.show(text, [], "No run selected: open one in Runs (F5).")
                return
            self.pending = text
            self.check_model()
            note = "Loading the model…" if self.loading_folder else "No checkpoint yet: it will answer once one is saved."
            bars.show(text, [], note)
            return
        self._predict(text)

    def _predict(self, text: str) -> None:
        self.query_one(PredictionBars).show(text, [], "Predicting…")
        self._run_predict(self.predictor, text, self.source.title if self.source else "")

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def _run_predict(self, predictor: Predicts, text: str, run: str) -> None:
        try:
            labels = predictor.predict([text], top_k=TOP_K)[0]
            tokens = predictor.token_count(text)
        except Exception as error:
            self.post_message(Predicted(text, [], error=one_line(error), run=run))
        else:
            cut = tokens > predictor.max_length
            self.post_message(Predicted(text, [(str(n), float(p)) for n, p in labels], run=run,
                                        tokens=tokens if cut else None,
                                        max_length=predictor.max_length if cut else None))

    @on(Predicted)
    def _on_predicted(self, message: Predicted) -> None:
        bars = self.query_one(PredictionBars)
        current = self.source is not None and message.run == self.source.title
        if message.error is not None:
            if current:
                bars.show(message.text, [], f"Prediction failed: {message.error}")
            self.notify(f"Prediction failed: {message.error}", severity="error")
            return
        self.predict_count += 1
        if current:  # an answer from the run shown before a switch goes to the history only
            note = (f"The model read only the first {message.max_length} tokens of {message.tokens} "
                    "(its max length); the rest was cut off." if message.tokens else "")
            bars.show(message.text, message.labels, note)
        top = message.labels[0] if message.labels else ("?", 0.0)
        line = Text.assemble(one_line_cut(message.text, 60), ("  → ", "dim"), (top[0], "bold"),
                             f" {top[1] * 100:.0f}%", (f"  · {message.run}", "dim"))
        # Newest first; asking again moves a prompt back to the top.
        entries = [entry for entry in self._history if entry[:2] != (message.text, message.run)]
        self._history = [(message.text, message.run, line), *entries][:HISTORY_LIMIT]
        history = self.query_one("#history", OptionList)
        history.clear_options()
        history.add_options([Option(line) for _, _, line in self._history])

    @on(OptionList.OptionSelected, "#history")
    def _on_history_selected(self, event: OptionList.OptionSelected) -> None:
        self.ask(self._history[event.option_index][0])
