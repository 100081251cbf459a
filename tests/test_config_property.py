"""Random wrong values at every config key: a one-line ConfigError (or UserError), or a
clean run, never another exception.

The keys come from the config dataclasses themselves (a key added later is covered without
touching this file). The values are drawn for each key's type and around it: extremes that
overflow what they feed (2**64 for a seed, 10**20 for a batch), non-finite and tiny floats,
the wrong type, odd text. `test_every_key_validates_in_one_line` checks validation alone,
many values per key; `test_a_config_that_validates_trains_cleanly` trains (two steps) each
config that validates and checks that it ends completed, stopped or failed with its own
message (a TrainingFault's), or raises a UserError, never a crash the trainer had to catch.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any, get_type_hints

import pytest
import tomllib
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lcl_tui.config import (
    SECTIONS,
    TOP_LEVEL_KEYS,
    RunConfig,
    apply_overrides,
    config_from_dict,
)
from lcl_tui.errors import UserError
from lcl_tui.events import StepEvent


def config_keys() -> dict[str, Any]:
    """Every key a config has, `section.key` -> its annotation, from the dataclasses."""
    keys: dict[str, Any] = {key: str for key in TOP_LEVEL_KEYS}
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        for field in dataclasses.fields(cls):
            keys[f"{section}.{field.name}"] = hints[field.name]
    return keys


KEYS = config_keys()

# No "/" or "~": a text that became a path stays inside the test's folder (the test runs there).
TEXT = st.text(st.characters(blacklist_characters="/~\\", blacklist_categories=("Cs",)), max_size=30)
HUGE_INTS = st.sampled_from([2**63, 2**64, 2**64 - 1, -(2**63) - 1, 10**20, 10**23, 99999999999999999999])
EDGE_INTS = st.sampled_from([0, -1, 1, 2, 2**31, 2**63 - 1, -(2**63), 10**7, 10**7 + 1, 1000, 1001])
EDGE_FLOATS = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e-30, 1e30, -0.0, 1e-308, 0.5,
                               0.01, 0.0099, 1000.0, 1000.1, 1.0, 0.999999])
ODD_TEXT = st.sampled_from(["", " ", "\x00", "cuda:abc", "cuda:-1", "cpu:abc", "cuda:99", "mps", "..", ".",
                            "a" * 300, "None", "true", "1e5", "é", "\u2028", "\ud800"])


def wrong_values(annotation: Any) -> st.SearchStrategy:
    """Values around and beyond what a key of this type takes, and of other types."""
    text = str(annotation)
    anything = st.one_of(st.none(), st.booleans(), HUGE_INTS, EDGE_INTS, EDGE_FLOATS, ODD_TEXT, TEXT,
                         st.lists(st.integers(), max_size=2), st.dictionaries(TEXT, st.integers(), max_size=1))
    if "bool" in text:
        return st.one_of(st.booleans(), anything)
    if "float" in text:
        return st.one_of(EDGE_FLOATS, st.floats(allow_nan=True, allow_infinity=True), st.integers(), anything)
    if "int" in text:
        return st.one_of(HUGE_INTS, EDGE_INTS, st.integers(min_value=-(2**70), max_value=2**70), anything)
    return st.one_of(ODD_TEXT, TEXT, anything)


def edge_values(annotation: Any) -> st.SearchStrategy:
    """Values of the right type near the edges of what validates: these reach training."""
    text = str(annotation)
    if "bool" in text:
        return st.booleans()
    if "float" in text:
        return st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.05, 0.999, 1.0, 2.0, 1000.0]))
    if "int" in text:
        return st.one_of(st.integers(0, 70), st.sampled_from([2**63 - 1, 10**7, 1000, 4096]))
    return st.one_of(ODD_TEXT, st.sampled_from(["text", "label", "cls", "mean", "rnn", "gru", "ce", "scl",
                                                 "scl-two-stage", "separate", "dropout", "random",
                                                 "length-grouped", "class-aware-grouped", "fp16", "bf16",
                                                 "no", "auto", "cpu", "cuda"]))


def assert_one_line(error: BaseException) -> None:
    assert isinstance(error, UserError), repr(error)
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text, repr(text)


@pytest.mark.parametrize("key", list(KEYS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_key_validates_in_one_line(key, data):
    value = data.draw(wrong_values(KEYS[key]), label=key)
    try:
        config = apply_overrides(RunConfig(), {key: value})
    except UserError as error:
        assert_one_line(error)
        return
    except Exception as error:  # noqa: BLE001 - the property: nothing but a UserError
        raise AssertionError(f"{key}={value!r} raised {error!r}") from error
    # What validated must save and read back as the same config (config.toml holds it).
    assert config_from_dict(tomllib.loads(config.to_toml())) == config


class TrainerCrashes(logging.Handler):
    """Counts the exceptions the trainer had to catch itself (logged as "training failed")."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model_dir):
    """The tiny task's config, and a folder to run in (relative paths land there)."""
    from lcl_tui.testing import tiny_config

    root = tmp_path_factory.mktemp("property")
    base = tiny_config(root, model__name=str(tiny_model_dir), loss__objective="lcl", train__epochs=2)
    return root, base


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_config_that_validates_trains_cleanly(workspace, data, monkeypatch_module):
    from lcl_tui.training import train

    root, base = workspace
    keys = data.draw(st.lists(st.sampled_from(list(KEYS)), min_size=1, max_size=3, unique=True), label="keys")
    # Mostly values of the right type near the edges (they reach training), some wrong ones.
    overrides = {key: data.draw(edge_values(KEYS[key]) if data.draw(st.integers(0, 3), label="edge?") else
                                wrong_values(KEYS[key]), label=key) for key in keys}
    key, value = ", ".join(overrides), tuple(overrides.values())  # for the messages
    folder = Path(tempfile.mkdtemp(dir=root))
    if "output.runs_dir" not in overrides:
        overrides["output.runs_dir"] = str(folder / "runs")
    try:
        config = apply_overrides(base, overrides)
    except UserError as error:
        assert_one_line(error)
        event("refused by the config")
        return
    if "output.runs_dir" in keys:  # a drawn folder name, made inside this example's folder
        config = config.replace(**{"output.runs_dir": str(folder / config.output.runs_dir)})
    stop = threading.Event()
    crashes = TrainerCrashes()
    logging.getLogger("lcl_tui.training").addHandler(crashes)
    monkeypatch_module.chdir(folder)
    try:
        result = train(config, stop=stop,
                       subscribers=[lambda e: isinstance(e, StepEvent) and e.step >= 2 and stop.set()])
    except UserError as error:
        assert_one_line(error)
        event(f"refused before training ({type(error).__name__})")
        return
    except Exception as error:  # noqa: BLE001 - the property: nothing but a UserError
        raise AssertionError(f"{key}={value!r} raised {error!r}") from error
    finally:
        logging.getLogger("lcl_tui.training").removeHandler(crashes)
    assert crashes.records == [], f"{key}={value!r}: the trainer caught {crashes.records[0].getMessage()}"
    assert result.status in ("completed", "stopped", "failed"), result.status
    event(f"trained: {result.status}")
    if result.status == "failed":
        assert result.error and "\n" not in result.error, result.error


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
