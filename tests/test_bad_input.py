"""Every input a user can type, wrong: one line that names the problem and the fix.

On the command line a mistake is exit code 2 with exactly one line on stderr, starting
"error:", and no traceback. Through the Python API the same mistake raises the right
`UserError` subclass with the same one-line message, and never leaves a run folder that
reads as running. Inputs that look odd but are fine (legacy encodings, a huge line,
whitespace rows) train, with a warning where something was changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lcl_tui.cli import app
from lcl_tui.config import load_config, parse_overrides
from lcl_tui.errors import ConfigError, DataError, ModelError, RunNotFoundError, UserError
from lcl_tui.predict import Predictor
from lcl_tui.runstore import RunStore
from lcl_tui.testing import synthetic_rows
from lcl_tui.training import train

runner = CliRunner()


# --- the harness ---------------------------------------------------------------------------


def invoke(argv: list[str], stdin: str | None = None):
    return runner.invoke(app, [str(a) for a in argv], input=stdin)


def assert_one_line_error(result, fragment: str) -> str:
    """Exit 2, one non-empty stderr line `error: ...` holding `fragment`, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_no_run_left_running(runs_dir: Path) -> None:
    """A mistake found before training must not leave a run that reads as running/interrupted."""
    for run in RunStore(runs_dir).runs():
        assert run.read_status().status == "failed", run.path


@dataclass
class Workspace:
    root: Path
    preset: Path  # the tiny task as a .toml file: trains in about a second
    runs_dir: Path
    model: Path

    def file(self, name: str, content: str | bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def csv(self, name: str, rows: list[tuple[object, object]], header: str = "text,label") -> str:
        lines = [header] + [f"{text},{label}" for text, label in rows]
        return self.file(name, "\n".join(lines) + "\n")

    def model_copy(self, name: str) -> Path:
        target = self.root / name
        shutil.copytree(self.model, target)
        return target


@pytest.fixture
def ws(tmp_path, tiny) -> Workspace:
    config = tiny(train__max_steps=1, loss__objective="ce")
    preset = tmp_path / "tiny.toml"
    preset.write_text(config.to_toml(), encoding="utf-8")
    return Workspace(root=tmp_path, preset=preset, runs_dir=Path(config.output.runs_dir),
                     model=Path(config.model.name))


def good_rows(n: int = 40) -> list[tuple[str, str]]:
    return synthetic_rows(n)


def two_class_rows(n: int = 40) -> list[tuple[str, str]]:
    return [(f"word{i} text", "yes" if i % 2 else "no") for i in range(n)]


# --- inputs to `lcl-tui train`: (preset, --set values) -> error class, message fragment ---------

# Each maker takes the workspace and returns (preset name or path, [--set values]).
Maker = Callable[[Workspace], tuple[str, list[str]]]


def preset_file(text: str | bytes, name: str = "bad.toml") -> Maker:
    return lambda ws: (ws.file(name, text), [])


def with_set(*values: str) -> Maker:
    return lambda ws: (str(ws.preset), list(values))


def with_data(make_file: Callable[[Workspace], str], *extra: str) -> Maker:
    return lambda ws: (str(ws.preset), [f"data.dataset={json.dumps(make_file(ws))}", *extra])


def with_model(make_model: Callable[[Workspace], str], *extra: str) -> Maker:
    return lambda ws: (str(ws.preset), [f"model.name={json.dumps(make_model(ws))}", *extra])


def folder(files: dict[str, list[tuple[object, object]]]) -> Callable[[Workspace], str]:
    def make(ws: Workspace) -> str:
        for name, rows in files.items():
            ws.csv(f"split-folder/{name}", rows)
        return str(ws.root / "split-folder")
    return make


def remote_code_model(ws: Workspace) -> str:
    """A model folder whose config asks for its own Python code (never run here)."""
    target = ws.model_copy("remote-model")
    config = json.loads((target / "config.json").read_text())
    config["model_type"] = "custom-bert"
    config["auto_map"] = {"AutoConfig": "configuration_custom.CustomConfig",
                          "AutoModel": "modeling_custom.CustomModel"}
    (target / "config.json").write_text(json.dumps(config))
    marker = ws.root / "REMOTE_CODE_RAN"
    for module in ("configuration_custom.py", "modeling_custom.py"):
        (target / module).write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    return str(target)


def damaged_config_model(ws: Workspace) -> str:
    target = ws.model_copy("damaged-model")
    (target / "config.json").write_text('{"model_type": ')
    return str(target)


def weightless_model(ws: Workspace) -> str:
    target = ws.model_copy("weightless-model")
    (target / "model.safetensors").unlink()
    return str(target)


def empty_folder(ws: Workspace) -> str:
    (ws.root / "not-a-model").mkdir()
    return str(ws.root / "not-a-model")


TRAIN_CASES: dict[str, tuple[Maker, type[UserError], str]] = {
    # presets
    "unknown-preset": (lambda ws: ("no-such-preset", []), ConfigError, "unknown preset 'no-such-preset'"),
    "missing-toml": (lambda ws: (str(ws.root / "missing.toml"), []), ConfigError, "config file not found"),
    "preset-is-a-folder": (lambda ws: (str(ws.root), []), ConfigError, "config file not found"),
    "invalid-toml": (preset_file("name = \n"), ConfigError, "invalid TOML"),
    "non-utf8-preset": (preset_file(b'name = "caf\xe9"\n'), ConfigError, "not UTF-8"),
    "unknown-section": (preset_file("[trian]\nepochs = 2\n"), ConfigError, "unknown config section or key 'trian'"),
    "unknown-key-in-preset": (preset_file("[train]\nbatchsize = 8\n"), ConfigError,
                              "unknown config key 'train.batchsize'"),
    "wrong-type-in-preset": (preset_file('[train]\nbatch_size = "big"\n'), ConfigError,
                             "train.batch_size must be a whole number"),
    "section-not-a-table": (preset_file("train = 3\n"), ConfigError, "'train' must be a table"),
    "out-of-range-in-preset": (preset_file("[loss]\nalpha = 2.0\n"), ConfigError, "loss.alpha must be in [0, 1]"),
    # --set syntax and types
    "set-without-equals": (with_set("loss.alpha"), ConfigError, "--set takes section.key=value"),
    "set-without-section": (with_set("alpha=0.3"), ConfigError, "must be section.key"),
    "set-unknown-key": (with_set("loss.alpah=0.3"), ConfigError, "unknown config key 'loss.alpah'"),
    "set-unknown-section": (with_set("lose.alpha=0.3"), ConfigError, "unknown config section or key 'lose'"),
    "set-text-for-int": (with_set("train.batch_size=abc"), ConfigError, "train.batch_size must be a whole number"),
    "set-fraction-for-int": (with_set("train.epochs=2.5"), ConfigError, "train.epochs must be a whole number"),
    "set-text-for-float": (with_set("optim.lr=fast"), ConfigError, "optim.lr must be a number"),
    "set-text-for-bool": (with_set("model.trust_remote_code=yes"), ConfigError, "must be true or false"),
    "set-nan": (with_set("loss.temperature=nan"), ConfigError, "loss.temperature must be a finite number"),
    "set-inf": (with_set("optim.lr=inf"), ConfigError, "optim.lr must be a finite number"),
    "set-number-for-text": (with_set("train.device=3"), ConfigError, "train.device must be text"),
    "set-empty-required": (with_set("train.batch_size=none"), ConfigError, "train.batch_size must not be empty"),
    "set-non-utf8-text": (with_set("name=caf\udce9"), ConfigError, "not UTF-8"),
    # out-of-range hyperparameters
    "lr-zero": (with_set("optim.lr=0"), ConfigError, "optim.lr must be > 0"),
    "lr-negative": (with_set("optim.lr=-1e-4"), ConfigError, "optim.lr must be > 0"),
    "batch-size-zero": (with_set("train.batch_size=0"), ConfigError, "train.batch_size must be >= 1"),
    "epochs-zero": (with_set("train.epochs=0"), ConfigError, "train.epochs must be in [1, 1000]"),
    "max-steps-zero": (with_set("train.max_steps=0"), ConfigError, "train.max_steps must be in [1, 10,000,000]"),
    "alpha-above-one": (with_set("loss.alpha=1.5"), ConfigError, "loss.alpha must be in [0, 1]"),
    "temperature-zero": (with_set("loss.temperature=0"), ConfigError, "loss.temperature must be in [0.01, 1000]"),
    "max-length-one": (with_set("data.max_length=1"), ConfigError, "data.max_length must be in [2, 8192]"),
    "max-length-huge": (with_set("data.max_length=100000"), ConfigError, "data.max_length must be in [2, 8192]"),
    "validation-fraction-one": (with_set("data.validation_fraction=1"), ConfigError,
                                "data.validation_fraction must be in [0, 1)"),
    "test-fraction-zero": (with_set("data.test_fraction=0"), ConfigError, "data.test_fraction must be in (0, 1)"),
    "fractions-leave-no-train": (with_set("data.validation_fraction=0.5", "data.test_fraction=0.5"), ConfigError,
                                 "must leave training data"),
    "examples-per-class-above-batch": (with_set("train.examples_per_class=64"), ConfigError,
                                       "train.examples_per_class must be <= train.batch_size"),
    "grad-accumulation-zero": (with_set("train.grad_accumulation=0"), ConfigError,
                               "train.grad_accumulation must be >= 1"),
    "eval-every-zero": (with_set("train.eval_every_steps=0"), ConfigError, "train.eval_every_steps must be >= 1"),
    "patience-zero": (with_set("train.patience=0"), ConfigError, "train.patience must be >= 1"),
    "warmup-one": (with_set("optim.warmup_ratio=1"), ConfigError, "optim.warmup_ratio must be in [0, 1)"),
    "weight-decay-negative": (with_set("optim.weight_decay=-0.1"), ConfigError, "optim.weight_decay must be >= 0"),
    "grad-clip-negative": (with_set("optim.grad_clip=-1"), ConfigError, "optim.grad_clip must be >= 0"),
    "dropout-one": (with_set("model.head_dropout=1"), ConfigError, "model.head_dropout must be in [0, 1)"),
    "unknown-objective": (with_set("loss.objective=triplet"), ConfigError, "loss.objective must be one of"),
    "unknown-sampler": (with_set("train.sampler=balanced"), ConfigError, "train.sampler must be one of"),
    "unknown-pooling": (with_set("model.pooling=max"), ConfigError, "model.pooling must be one of"),
    "unknown-device": (with_set("train.device=tpu"), ConfigError, "train.device must be auto, cpu"),
    "cuda-not-here": (with_set("train.device=cuda"), UserError, "CUDA is not available here"),
    "empty-dataset": (with_set('data.dataset=" "'), ConfigError, "data.dataset must name a dataset or file"),
    "empty-model": (with_set('model.name=""'), ConfigError, "model.name must name a model"),
    "run-name-escapes": (with_set("output.run_name=../elsewhere"), ConfigError, "output.run_name '../elsewhere'"),
    "runs-dir-is-a-file": (lambda ws: (str(ws.preset), [f"output.runs_dir={json.dumps(str(ws.preset))}"]),
                           ConfigError, "output.runs_dir"),
    # dataset names and local data files
    "unknown-dataset": (with_set("data.dataset=movie-snipets-5"), DataError, "unknown dataset 'movie-snipets-5'"),
    "hub-unreachable": (with_set("data.dataset=hub:nobody/no-such-data"), DataError, "hub"),
    "missing-file": (with_data(lambda ws: str(ws.root / "nope.csv")), DataError, "file not found"),
    "unknown-format": (with_data(lambda ws: ws.file("data.xlsx", "text,label\n")), DataError,
                       "unknown data format '.xlsx'"),
    "empty-file": (with_data(lambda ws: ws.file("empty.csv", "")), DataError, "has no rows"),
    "header-only": (with_data(lambda ws: ws.file("header.csv", "text,label\n")), DataError, "has no rows"),
    "missing-text-column": (with_data(lambda ws: ws.csv("d.csv", good_rows()), "data.text_column=sentence"),
                            DataError, "no column 'sentence' (columns: 'text', 'label'); set data.text_column"),
    "missing-label-column": (with_data(lambda ws: ws.csv("d.csv", good_rows()), "data.label_column=category"),
                             DataError, "set data.label_column"),
    "label-column-is-the-text": (with_data(lambda ws: ws.csv("d.csv", good_rows()), "data.label_column=text"),
                                 DataError, "data.label_column"),
    "missing-pair-column": (with_data(lambda ws: ws.csv("d.csv", good_rows()), "data.text_pair_column=title"),
                            DataError, "set data.text_pair_column"),
    "all-texts-whitespace": (with_data(lambda ws: ws.csv("ws.csv", [("   ", i % 2) for i in range(30)])),
                             DataError, "has an empty 'text'"),
    "float-label": (with_data(lambda ws: ws.csv("f.csv", [*two_class_rows(), ("odd one", 2.5)])), DataError,
                    "not a whole number"),
    "float-label-in-jsonl": (with_data(lambda ws: ws.file("f.jsonl", "".join(
        json.dumps({"text": f"t {i}", "label": 0.5 + i % 2}) + "\n" for i in range(30)))), DataError,
        "not a whole number"),
    "list-label-in-jsonl": (with_data(lambda ws: ws.file("l.jsonl", "".join(
        json.dumps({"text": f"t {i}", "label": [i % 2]}) + "\n" for i in range(30)))), DataError,
        "labels must be class names or whole numbers"),
    "missing-label": (with_data(lambda ws: ws.csv("m.csv", [*two_class_rows(), ("no label here", "")])),
                      DataError, "row 41 has no label"),
    "null-label-in-jsonl": (with_data(lambda ws: ws.file("n.jsonl", "".join(
        json.dumps({"text": f"t {i}", "label": None if i == 3 else i % 2}) + "\n" for i in range(30)))),
        DataError, "row 4 has no label"),
    "single-class": (with_data(lambda ws: ws.csv("one.csv", [(f"text {i}", "joy") for i in range(30)])),
                     DataError, "only one class ('joy')"),
    "validation-label-unseen": (with_data(folder({"train.csv": two_class_rows(),
                                                  "validation.csv": [("new one", "maybe"), ("old", "yes")]})),
                                DataError, "has label 'maybe' (row 1) but"),
    "test-label-unseen": (with_data(folder({"train.csv": two_class_rows(), "test.csv": [("t", "perhaps")]})),
                          DataError, "has label 'perhaps' (row 1) but"),
    "folder-without-train": (with_data(folder({"data.csv": two_class_rows()})), DataError, "has no train file"),
    "binary-file": (with_data(lambda ws: ws.file("bin.csv", b"text,label\n\x00\x01\x02,1\n")), DataError,
                    "binary data"),
    "invalid-jsonl-line": (with_data(lambda ws: ws.file("bad.jsonl", '{"text": "a", "label": 1}\n{"text": \n')),
                           DataError, "line 2 is not valid JSON"),
    "ragged-csv": (with_data(lambda ws: ws.file("ragged.csv", "text,label\na,1\nb,2,3,4\n")), DataError,
                   "cannot parse"),
    "too-few-rows": (with_data(lambda ws: ws.csv("few.csv", [("a", "x"), ("b", "y")])), DataError, "too few"),
    # model names and folders
    "missing-model-folder": (with_model(lambda ws: str(ws.root / "no-model")), ModelError, "model folder not found"),
    "folder-is-not-a-model": (with_model(empty_folder), ModelError, "has no config.json"),
    "damaged-model-config": (with_model(damaged_config_model), ModelError, "not a valid JSON"),
    "model-without-weights": (with_model(weightless_model), ModelError, "cannot load model"),
    "unknown-packaged-model": (with_set("model.name=packaged:bert-huge"), ModelError, "unknown packaged model"),
    "hub-model-unreachable": (with_set("model.name=nobody/no-such-model"), ModelError,
                              "give a local model folder or a hub id you can reach"),
    "model-needs-remote-code": (with_model(remote_code_model), ModelError, "set model.trust_remote_code=true"),
    "weighting-model-missing": (lambda ws: (str(ws.preset), ["loss.objective=lcl", "model.weighting=separate",
                                                             f"model.weighting_model={json.dumps(str(ws.root / 'w'))}"]),
                                ModelError, "model folder not found"),
}


@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_train_input_is_a_one_line_error(ws, case):
    make, error, fragment = TRAIN_CASES[case]
    preset, sets = make(ws)
    argv = ["train", preset]
    for value in sets:
        argv += ["--set", value]
    cli_line = assert_one_line_error(invoke(argv), fragment)

    # The API: the same class and message, raised before any training.
    with pytest.raises(UserError) as raised:
        train(load_config(preset, parse_overrides(sets)))
    assert type(raised.value) is error, (type(raised.value), raised.value)
    assert str(raised.value) == cli_line[len("error: "):]
    assert "\n" not in str(raised.value)
    assert_no_run_left_running(ws.runs_dir)
    assert not (ws.root / "REMOTE_CODE_RAN").exists()


FIX_HINTS = ("set ", "use ", "give ", "check", "fix", "add ", "see ", "must ", "keep ", "remove", "fill ",
             "retype", "save ", "known", "one of", "the packaged one is", "need at least")
@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_every_message_names_a_fix(ws, case):
    """A message says what to do: a key to set, an action, the valid choices or a place to look."""
    make, _, _ = TRAIN_CASES[case]
    preset, sets = make(ws)
    with pytest.raises(UserError) as raised:
        train(load_config(preset, parse_overrides(sets)))
    message = str(raised.value).replace(str(ws.root), "<tmp>")  # the test's folder name holds "fix"
    assert any(hint in message for hint in FIX_HINTS), message


def test_an_unreadable_data_file(ws, monkeypatch):
    data = ws.csv("locked.csv", good_rows())
    real = Path.read_bytes

    def locked(self):
        if str(self) == data:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", locked)
    sets = [f"data.dataset={json.dumps(data)}"]
    assert_one_line_error(invoke(["train", ws.preset, "--set", sets[0]]),
                          "cannot read")
    with pytest.raises(DataError, match="Permission denied.*permissions"):
        train(load_config(ws.preset, parse_overrides(sets)))


def test_max_length_beyond_the_model_is_named(ws):
    long_rows = [(" ".join(["happy"] * 100) + f" {i}", "yes" if i % 2 else "no") for i in range(40)]
    data = ws.csv("long.csv", long_rows)
    config = load_config(ws.preset, {"data.dataset": data, "data.max_length": 128})
    try:
        result = train(config)
    except UserError as error:
        message = str(error)
    else:
        message = result.error or ""
    assert "data.max_length" in message, message


def test_a_model_folder_without_a_tokenizer_is_an_error(ws):
    target = ws.model_copy("no-tokenizer")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        (target / name).unlink(missing_ok=True)
    with pytest.raises(ModelError, match="tokenizer"):
        train(load_config(ws.preset, {"model.name": str(target)}))


# --- inputs that look odd but are fine -------------------------------------------------------


def test_odd_but_valid_data_trains_with_warnings(ws):
    """cp1252 bytes, a huge line, whitespace-only rows and string labels: trained, not refused."""
    lines = ["text,label"]
    for text, label in good_rows(80):
        lines.append(f"{text},{label}")
    lines.append("caf\xe9 was so happy,joy")
    lines.append("   ,anger")
    lines.append("\t ,fear")
    lines.append(" ".join(["sad"] * 50_000) + ",sadness")  # a 300 KB line
    data = ws.file("odd.csv", "\n".join(lines).encode("cp1252") + b"\n")
    result = invoke(["train", ws.preset, "--set", f"data.dataset={json.dumps(data)}"])
    assert result.exit_code == 0, result.output
    run = RunStore(ws.runs_dir).runs()[0]
    split = run.load_split()
    assert split.label_names == ["anger", "fear", "joy", "sadness"]
    texts = split.train.texts + split.validation.texts + split.test.texts
    assert "café was so happy" in texts
    assert len(texts) == 82  # 80 + the cp1252 row + the huge line; two blank rows dropped
    assert any("not UTF-8" in w for w in split.warnings)
    assert any("dropped 2 row(s) with empty text" in w for w in split.warnings)


# --- inputs to predict, runs and the app's command line ---------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    from lcl_tui.testing import tiny_config

    root = tmp_path_factory.mktemp("trained")
    result = train(tiny_config(root, model__name=str(tiny_model_dir), train__max_steps=2, loss__objective="ce"))
    assert result.status == "completed", result.error
    return result.run


def no_checkpoint_run(runs_dir: Path) -> str:
    from lcl_tui.config import RunConfig

    run = RunStore(runs_dir).create_run(RunConfig(name="fresh"))
    run.write_status("stopped")
    return run.run_id


def damaged_checkpoint(trained, root: Path) -> Path:
    target = root / "damaged-checkpoint"
    if not target.exists():
        shutil.copytree(trained.best_checkpoint, target)
        data = (target / "model.safetensors").read_bytes()
        (target / "model.safetensors").write_bytes(data[:1000])
    return target


def test_predict_inputs_are_one_line_errors(trained, tmp_path):
    runs_dir = trained.path.parent
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = [
        (["predict", "no-such-run", "hi"], RunNotFoundError, "no run 'no-such-run'"),
        (["predict", "..", "hi"], RunNotFoundError, "no run '..'"),
        (["predict", ".", "hi"], RunNotFoundError, "no run '.'"),
        (["predict", "../" + trained.run_id, "hi"], RunNotFoundError, "no run '../"),
        (["predict", str(outside), "hi"], RunNotFoundError, "no run"),
        (["predict", "/", "hi"], RunNotFoundError, "no run '/'"),
        (["predict", no_checkpoint_run(runs_dir), "hi"], UserError, "has no checkpoint yet"),
        (["predict", trained.run_id, "hi", "--top-k", "0"], UserError, "--top-k must be >= 1"),
        (["predict", str(damaged_checkpoint(trained, tmp_path)), "hi"], ModelError, "damaged"),
    ]
    for argv, error, fragment in cases:
        assert_one_line_error(invoke([*argv, "--runs-dir", runs_dir]), fragment)
    # The same through the API.
    store = RunStore(runs_dir)
    for text in ("no-such-run", "..", ".", f"../{trained.run_id}", str(outside), "/", ""):
        with pytest.raises(RunNotFoundError):
            store.open(text)
    with pytest.raises(ModelError, match="damaged"):
        Predictor.from_checkpoint(damaged_checkpoint(trained, tmp_path))
    with pytest.raises(UserError, match="top-k"):
        Predictor.from_run(trained).predict(["hi"], top_k=0)


def test_predict_with_no_texts_on_stdin(trained):
    runs_dir = trained.path.parent
    result = invoke(["predict", trained.run_id, "-", "--runs-dir", runs_dir], stdin="\n  \n")
    assert_one_line_error(result, "no texts to classify")


def test_predict_empty_and_odd_texts_still_answer(trained):
    predictor = Predictor.from_run(trained)
    texts = ["", "   ", "\x00", "caf\udce9", "happy " * 10_000, "日本語のテキスト"]
    ranked = predictor.predict(texts, top_k=2)
    assert len(ranked) == len(texts) and all(len(r) == 2 for r in ranked)
    assert predictor.predict([], top_k=2) == []


def test_ambiguous_run_prefix_is_named(tmp_path):
    from lcl_tui.config import OutputConfig, RunConfig

    store = RunStore(tmp_path / "runs")
    for name in ("alpha-1", "alpha-2"):
        store.create_run(RunConfig(name=name, output=OutputConfig(run_name=name)))
    result = invoke(["predict", "alpha", "hi", "--runs-dir", store.runs_dir])
    assert_one_line_error(result, "ambiguous")


def test_app_options_fail_before_the_screen_opens(tmp_path, monkeypatch):
    import lcl_tui.app as app_package

    monkeypatch.setattr(app_package, "run_app", lambda **kw: pytest.fail("the app must not open"))
    bad_sweep, good_sweep = tmp_path / "bad.toml", tmp_path / "good.toml"
    bad_sweep.write_text("[grid]\nloss.alpha = 3\n")
    good_sweep.write_text("seeds = [1]\n")
    for argv, fragment in [
        (["--start"], "--start needs --preset"),
        (["--preset", "no-such-preset"], "unknown preset 'no-such-preset'"),
        (["--preset", str(tmp_path / "nope.toml")], "config file not found"),
        (["--open", "no-such-run", "--runs-dir", tmp_path], "no run 'no-such-run'"),
        (["--open", "..", "--runs-dir", tmp_path], "no run '..'"),
        (["--sweep", tmp_path / "nope.toml"], "sweep file not found"),
        (["--sweep", bad_sweep], "loss.alpha must be a non-empty list"),
        (["--sweep", good_sweep, "--preset", "quickstart", "--start"], "drop --open and --start"),
    ]:
        assert_one_line_error(invoke(argv), fragment)


def test_app_sweep_option_reaches_the_app(tmp_path, monkeypatch):
    import lcl_tui.app as app_package

    seen = {}
    monkeypatch.setattr(app_package, "run_app", lambda **kw: seen.update(kw))
    sweep = tmp_path / "grid.toml"
    sweep.write_text('seeds = [1]\n[grid]\nloss.alpha = [0.2, 0.8]\n')
    result = invoke(["--sweep", sweep, "--runs-dir", tmp_path / "runs"])
    assert result.exit_code == 0, result.output
    assert seen["sweep_file"] == str(sweep) and seen["start"] is False


def test_resume_inputs_are_one_line_errors(trained, tmp_path):
    runs_dir = trained.path.parent
    fresh = no_checkpoint_run(runs_dir)
    for argv, fragment in [
        (["train", "--resume", "no-such-run"], "no run 'no-such-run'"),
        (["train", "--resume", ".."], "no run '..'"),
        (["train", "--resume", trained.run_id], "already completed"),
        (["train", "--resume", fresh], "no checkpoint to resume from"),
    ]:
        assert_one_line_error(invoke([*argv, "--runs-dir", runs_dir]), fragment)


def test_usage_mistakes_exit_2_without_a_traceback(trained):
    runs_dir = trained.path.parent
    for argv, fragment in [
        (["predict", trained.run_id, "--runs-dir", runs_dir], "Missing argument"),
        (["train", "quickstart", "--max-steps", "many"], "--max-steps"),
        (["train", "quickstart", "--no-such-option"], "No such option"),
    ]:
        result = invoke(argv)
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert fragment in result.stderr, result.stderr


# --- the real command in a real process -------------------------------------------------------


def test_a_real_process_prints_one_line(ws):
    """The installed entry point, in real processes (run side by side): bytes on argv, a
    remote-code model (whose loading makes transformers chatter), each one line on stderr and exit
    code 2."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    children = {}
    for case in ("model-needs-remote-code", "set-non-utf8-text"):
        make, _, fragment = TRAIN_CASES[case]
        preset, sets = make(ws)
        argv = [sys.executable, "-m", "lcl_tui.cli", "train", preset]
        for value in sets:
            argv += ["--set", value]  # a lone surrogate goes out as the byte it stands for
        children[case] = (fragment, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                     text=True, env=env))
    for case, (fragment, child) in children.items():
        _, stderr = child.communicate(timeout=180)
        assert child.returncode == 2, (case, stderr)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], (case, stderr)
    assert not (ws.root / "REMOTE_CODE_RAN").exists()
