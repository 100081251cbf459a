"""Security: safetensors only, no pickle from a run folder, remote code only by an explicit
flag, and run names and ids that cannot leave the runs folder."""

from __future__ import annotations

import json
import pickle
import shutil
import threading
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lcl_tui.cli import app
from lcl_tui.config import OutputConfig, RunConfig, load_config
from lcl_tui.errors import ConfigError, ModelError, RunNotFoundError
from lcl_tui.events import StepEvent
from lcl_tui.predict import Predictor
from lcl_tui.runstore import RunStore, check_run_name
from lcl_tui.training import train

runner = CliRunner()
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".npy", ".npz", ".joblib", ".h5", ".msgpack"}


def pickle_like(path: Path) -> bool:
    """A pickle stream (protocol 2+) or a torch.save zip archive."""
    head = path.read_bytes()[:4]
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head == b"PK\x03\x04"


def assert_no_pickle(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert path.suffix.lower() not in PICKLE_SUFFIXES, path
        assert not pickle_like(path), path
    weights = [p for p in files if p.suffix == ".safetensors"]
    assert weights, "a checkpoint's weights are safetensors"


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any unpickling (torch.load, pickle, numpy with pickles) fails the test."""
    calls = []

    def refuse(name):
        def refused(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called while loading from a run folder")
        return refused

    import numpy

    monkeypatch.setattr(torch, "load", refuse("torch.load"))
    monkeypatch.setattr(torch.serialization, "load", refuse("torch.serialization.load"))
    monkeypatch.setattr(pickle, "load", refuse("pickle.load"))
    monkeypatch.setattr(pickle, "loads", refuse("pickle.loads"))
    monkeypatch.setattr(pickle, "Unpickler", refuse("pickle.Unpickler"))
    monkeypatch.setattr(numpy, "load", refuse("numpy.load"))
    return calls


# --- safetensors only ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["lcl-separate", "gru"])
def test_a_run_folder_holds_no_pickle(tiny, variant, no_unpickling):
    overrides = {"train__max_steps": 6, "train__eval_every_steps": 2}
    if variant == "gru":
        overrides.update(model__architecture="gru", model__embedding_dim=16, model__hidden_size=16,
                         loss__objective="ce")
    else:
        overrides.update(loss__objective="lcl", model__weighting="separate")
    stop = threading.Event()
    # Stopped mid-run, so the last checkpoint carries the optimiser and RNG state as well.
    stopped = train(tiny(**overrides), stop=stop,
                    subscribers=[lambda e: isinstance(e, StepEvent) and e.step == 5 and stop.set()])
    assert stopped.status == "stopped", stopped.error
    assert (stopped.run.last_checkpoint / "training_state.safetensors").is_file()
    assert_no_pickle(stopped.run.path)
    # Loading it back (predict, and resume) never unpickles.
    predictor = Predictor.from_run(stopped.run)
    assert len(predictor.predict(["so happy"], top_k=2)[0]) == 2
    from lcl_tui.resume import resume_training

    resumed = resume_training(stopped.run.run_id, stopped.run.path.parent)
    assert resumed.status == "completed", resumed.error
    assert_no_pickle(resumed.run.path)
    assert no_unpickling == []


def planted_pickle_checkpoint(source: Path, target: Path) -> Path:
    """A copy of a checkpoint whose encoder weights are a pickled pytorch_model.bin."""
    from safetensors.torch import load_file

    shutil.copytree(source, target)
    state = load_file(str(target / "model.safetensors"))
    (target / "model.safetensors").unlink()
    torch.save(state, target / "pytorch_model.bin")
    return target


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_model_dir):
    from lcl_tui.testing import tiny_config

    root = tmp_path_factory.mktemp("secure")
    result = train(tiny_config(root, model__name=str(tiny_model_dir), train__max_steps=2, loss__objective="ce"))
    assert result.status == "completed"
    return result.run


def test_a_planted_pickle_is_refused_before_it_is_read(trained_run, tmp_path, no_unpickling):
    folder = planted_pickle_checkpoint(trained_run.best_checkpoint, tmp_path / "planted")
    with pytest.raises(ModelError, match="safetensors only"):
        Predictor.from_checkpoint(folder)
    result = runner.invoke(app, ["predict", str(folder), "hello"])
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "safetensors" in result.stderr
    assert no_unpickling == []


def test_load_checkpoint_itself_never_falls_back_to_pickle(trained_run, tmp_path, no_unpickling):
    from lcl_tui.models import load_checkpoint

    folder = planted_pickle_checkpoint(trained_run.best_checkpoint, tmp_path / "planted")
    with pytest.raises(ModelError):
        load_checkpoint(folder)
    assert no_unpickling == []


# --- trust_remote_code --------------------------------------------------------------------


def test_trust_remote_code_is_off_by_default():
    assert RunConfig().model.trust_remote_code is False
    for name in ("quickstart", "trec-50-lcl"):
        assert load_config(name).model.trust_remote_code is False


@pytest.fixture
def from_pretrained_calls(monkeypatch):
    import transformers

    calls = []
    for cls in (transformers.AutoModel, transformers.AutoTokenizer, transformers.AutoConfig):
        original = cls.from_pretrained

        def spy(*args, _original=original, _name=cls.__name__, **kwargs):
            calls.append((_name, kwargs.get("trust_remote_code", "absent")))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    return calls


@pytest.mark.parametrize("flag", [False, True])
def test_trust_remote_code_reaches_every_load_only_when_set(tiny, from_pretrained_calls, flag):
    result = train(tiny(train__max_steps=1, loss__objective="lcl", model__weighting="separate",
                        model__trust_remote_code=flag))
    assert result.status == "completed", result.error
    Predictor.from_run(result.run, trust_remote_code=flag)
    names = {name for name, _ in from_pretrained_calls}
    assert {"AutoModel", "AutoTokenizer"} <= names
    # Every load is told explicitly; none is left to a library default.
    assert {value for _, value in from_pretrained_calls} == {flag}, from_pretrained_calls


def remote_code_model(folder: Path, source: Path, marker: Path) -> Path:
    """A working model folder whose modelling code is its own (it touches `marker` when run)."""
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="custom-bert", architectures=["CustomModel"],
                  auto_map={"AutoConfig": "configuration_custom.CustomConfig",
                            "AutoModel": "modeling_custom.CustomModel"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_custom.py").write_text(
        "from transformers import BertConfig\n\n\nclass CustomConfig(BertConfig):\n    model_type = 'custom-bert'\n")
    (folder / "modeling_custom.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
        "from transformers import BertModel\nfrom .configuration_custom import CustomConfig\n\n\n"
        "class CustomModel(BertModel):\n    config_class = CustomConfig\n")
    return folder


def test_remote_code_runs_only_with_the_flag_at_train_and_at_predict(tiny, tiny_model_dir, tmp_path):
    marker = tmp_path / "REMOTE_CODE_RAN"
    model = remote_code_model(tmp_path / "custom-model", tiny_model_dir, marker)
    config = tiny(train__max_steps=1, loss__objective="ce").replace(**{"model.name": str(model)})
    with pytest.raises(ModelError, match="model.trust_remote_code=true"):
        train(config)
    assert not marker.exists()

    result = train(config.replace(**{"model.trust_remote_code": True}))
    assert result.status == "completed", result.error
    assert marker.exists()  # the user asked for it
    marker.unlink()

    # The checkpoint carries the code; loading it again needs the flag again.
    with pytest.raises(ModelError, match="--trust-remote-code"):
        Predictor.from_run(result.run)
    refused = runner.invoke(app, ["predict", result.run.run_id, "hi", "--runs-dir", str(result.run.path.parent)])
    assert refused.exit_code == 2 and "--trust-remote-code" in refused.stderr
    assert not marker.exists()
    allowed = runner.invoke(app, ["predict", result.run.run_id, "hi", "--trust-remote-code",
                                  "--runs-dir", str(result.run.path.parent)])
    assert allowed.exit_code == 0, allowed.output


def test_resuming_a_remote_code_run_needs_the_flag_again(tiny, tiny_model_dir, tmp_path):
    import threading

    from lcl_tui.events import StepEvent

    marker = tmp_path / "REMOTE_CODE_RAN"
    model = remote_code_model(tmp_path / "custom-model-to-resume", tiny_model_dir, marker)
    config = tiny(train__max_steps=4, loss__objective="ce").replace(
        **{"model.name": str(model), "model.trust_remote_code": True})
    stop = threading.Event()
    stopped = train(config, stop=stop, subscribers=[lambda e: isinstance(e, StepEvent) and stop.set()])
    assert stopped.status == "stopped"

    runs_dir = str(stopped.run.path.parent)
    refused = runner.invoke(app, ["train", "--resume", stopped.run.run_id, "--runs-dir", runs_dir])
    assert refused.exit_code == 2 and "--trust-remote-code" in refused.stderr, refused.output
    assert stopped.run.read_status().status == "stopped"  # refused before any training
    allowed = runner.invoke(app, ["train", "--resume", stopped.run.run_id, "--trust-remote-code",
                                  "--runs-dir", runs_dir])
    assert allowed.exit_code == 0, allowed.output
    # (The marker may not come back: the module stays imported in this process.)
    assert stopped.run.read_status().status == "completed"
    misplaced = runner.invoke(app, ["train", "quickstart", "--trust-remote-code"])
    assert misplaced.exit_code == 2 and "goes with --resume" in misplaced.stderr


def test_a_checkpoint_cannot_switch_remote_code_on_by_itself(trained_run, tmp_path):
    """Someone else's run folder: its lcl_tui.json says trust_remote_code=true."""
    folder = tmp_path / "handed-over"
    shutil.copytree(trained_run.best_checkpoint, folder)
    meta = json.loads((folder / "lcl_tui.json").read_text())
    meta["model"]["trust_remote_code"] = True
    (folder / "lcl_tui.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="if you trust it, pass --trust-remote-code"):
        Predictor.from_checkpoint(folder)
    assert Predictor.from_checkpoint(folder, trust_remote_code=True).predict(["x"], top_k=1)


# --- run names and ids ----------------------------------------------------------------------

BAD_NAMES = ["..", ".", "../x", "a/../../x", "/etc", "/tmp/x", "a/b", "~", "~/x", ".hidden", "a\\..\\b",
             "", " ", "a" * 101, "x..y", "run\x00", "run\n", "-rf"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_run_names_are_refused(name, tmp_path):
    with pytest.raises(ConfigError, match="is not allowed"):
        check_run_name(name, key="output.run_name")
    with pytest.raises(ConfigError, match="output.run_name"):
        RunConfig().replace(**{"output.run_name": name})
    if not name:
        return  # an empty name is no name: the run gets a dated one
    # Even a config that skipped validation cannot make a folder outside.
    config = RunConfig(output=OutputConfig(run_name=name, runs_dir=str(tmp_path / "runs")))
    with pytest.raises(ConfigError):
        RunStore(tmp_path / "runs").create_run(config)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["runs"])
    if (tmp_path / "runs").exists():
        assert list((tmp_path / "runs").iterdir()) == []


def test_bad_run_name_on_the_command_line(tmp_path):
    for name in ("../escape", "/tmp/escape", "a/b"):
        result = runner.invoke(app, ["train", "quickstart", "--set", f"output.run_name={json.dumps(name)}"])
        assert result.exit_code == 2 and "output.run_name" in result.stderr, result.output


@pytest.fixture
def runs_with_a_neighbour(tmp_path):
    store = RunStore(tmp_path / "runs")
    inside = store.create_run(RunConfig(name="inside", output=OutputConfig(run_name="inside-run")))
    # A valid run folder next to the runs folder, and one at the top: an id must never reach them.
    for outside in (tmp_path / "neighbour", tmp_path):
        outside.mkdir(exist_ok=True)
        (outside / "config.toml").write_text(RunConfig().to_toml())
    return store, inside


@settings(max_examples=120, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("./\\~-_ a0xin" + "side-run"[:3])), max_size=12))
def test_an_id_never_opens_a_folder_outside_the_runs_folder(tmp_path_factory, text):
    root = tmp_path_factory.mktemp("ids")
    store = RunStore(root / "runs")
    store.create_run(RunConfig(name="inside", output=OutputConfig(run_name="inside-run")))
    (root / "config.toml").write_text(RunConfig().to_toml())
    (root / "neighbour").mkdir()
    (root / "neighbour" / "config.toml").write_text(RunConfig().to_toml())
    if "/" in text or text.startswith("~"):
        return  # a path, not an id: the user names a folder on purpose
    try:
        run = store.open(text)
    except RunNotFoundError:
        return
    assert run.path.resolve().parent == store.runs_dir.resolve(), (text, run.path)


def test_ids_that_would_escape_are_not_found(runs_with_a_neighbour, monkeypatch):
    store, inside = runs_with_a_neighbour
    monkeypatch.chdir(store.runs_dir)  # even with the neighbour reachable as ".."
    for text in ("..", ".", "", "...", "....", "..\\neighbour"):
        with pytest.raises(RunNotFoundError):
            store.open(text)
    assert store.open("inside").path == inside.path
    for argv in (["predict", "..", "x"], ["train", "--resume", ".."], ["--open", ".."]):
        result = runner.invoke(app, [*argv, "--runs-dir", str(store.runs_dir)])
        assert result.exit_code == 2 and "no run '..'" in result.stderr, (argv, result.output)


def test_checkpoint_pointers_cannot_leave_the_run(trained_run, tmp_path):
    run_copy = tmp_path / trained_run.run_id
    shutil.copytree(trained_run.path, run_copy)
    from lcl_tui.runstore import Run

    run = Run(run_copy)
    good = run.best_checkpoint
    assert good is not None
    # Complete-looking checkpoint markers outside the checkpoints folder.
    (run_copy / "lcl_tui.json").write_text("{}")
    (tmp_path / "lcl_tui.json").write_text("{}")
    for pointer in ("..", ".", "../..", "../../..", f"../../{tmp_path.name}", "/", str(tmp_path)):
        (run_copy / "best.json").write_text(json.dumps({"checkpoint": pointer}))
        found = run.best_checkpoint
        assert found is None or found.resolve().parent == run.checkpoints_dir.resolve(), (pointer, found)
    for damaged in ("[]", '"step-1"', "{", '{"checkpoint": 5}', '{"checkpoint": null}'):
        (run_copy / "best.json").write_text(damaged)
        assert run.best_checkpoint is None
    (run_copy / "best.json").write_text(json.dumps({"checkpoint": good.name}))
    assert run.best_checkpoint == good


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "0", "127.0.0.1.example.com", "localhost.", "10.0.0.5"])
def test_serve_refuses_every_address_beyond_loopback_without_allow_remote(monkeypatch, host):
    """`lcl-tui serve` (test_cli checks the default, 127.0.0.1): the app has no authentication,
    so nothing but loopback is bound unless --allow-remote says so."""
    import textual_serve.server

    bound = []

    class RecordingServer:
        def __init__(self, command, host, port, title=None):
            bound.append(host)

        def serve(self):
            pass

    monkeypatch.setattr(textual_serve.server, "Server", RecordingServer)
    refused = runner.invoke(app, ["serve", "--host", host])
    assert refused.exit_code == 2 and refused.stderr.startswith("error: ") and "--allow-remote" in refused.stderr
    assert bound == []
