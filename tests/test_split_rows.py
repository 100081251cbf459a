"""split.json names source rows and a fingerprint instead of copying the texts, where the
source can be read again; old split files with texts still resume; a changed or missing
source is one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lcl_tui.cli import app
from lcl_tui.config import DataConfig
from lcl_tui.data import load_splits, splits_from_saved
from lcl_tui.errors import DataError
from lcl_tui.resume import resume_training

runner = CliRunner()


def test_a_run_of_a_local_file_saves_rows_and_resumes_from_them(stopped_run, tiny):
    saved = json.loads(stopped_run.split_path.read_text())
    assert "texts" not in saved["train"] and len(saved["train"]["rows"]) == len(saved["train"]["labels"])
    source = saved["source"]
    assert source["dataset"] == str(tiny().data.dataset) and len(source["fingerprint"]) == 64
    split = stopped_run.load_split()
    fresh = load_splits(stopped_run.load_config().data)
    assert (split.train.texts, split.test.texts) == (fresh.train.texts, fresh.test.texts)
    resumed = resume_training(stopped_run.run_id, stopped_run.path.parent)
    assert resumed.status == "completed", resumed.error


def test_an_old_split_file_with_texts_still_resumes(stopped_run):
    split = stopped_run.load_split()
    split.reread_from = None  # the old format: every text in the file
    stopped_run.save_split(split)
    assert "texts" in json.loads(stopped_run.split_path.read_text())["train"]
    resumed = resume_training(stopped_run.run_id, stopped_run.path.parent)
    assert resumed.status == "completed", resumed.error


def test_a_changed_source_is_one_line_naming_it(stopped_run, tiny):
    data = tiny().data.dataset
    with open(data, "a", encoding="utf-8") as handle:
        handle.write("a new row that was not there,joy\n")
    result = runner.invoke(app, ["train", "--resume", stopped_run.run_id, "--runs-dir", str(stopped_run.path.parent)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {data} changed since run {stopped_run.run_id} split it (its fingerprint differs); restore the "
        "data the run trained on, or start a new run"]
    assert stopped_run.read_status().status == "stopped"  # untouched


def test_a_missing_source_is_one_line_naming_it(stopped_run, tiny):
    data = tiny().data.dataset
    moved = data + ".moved"
    import os

    os.replace(data, moved)
    with pytest.raises(DataError) as caught:
        stopped_run.load_split()
    assert f"lists rows of {data}, which cannot be read now" in str(caught.value)
    assert "put the data back" in str(caught.value) and "\n" not in str(caught.value)


def test_a_source_that_cannot_be_read_again_keeps_its_texts(monkeypatch):
    import datasets

    data = datasets.Dataset.from_dict({"text": [f"t {i}" for i in range(40)], "label": [i % 2 for i in range(40)]})
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.DatasetDict(train=data))
    splits = load_splits(DataConfig(dataset="hub:some/data"))
    saved = json.loads(json.dumps(splits.to_dict()))
    assert "source" not in saved and saved["train"]["texts"] == splits.train.texts
    assert splits_from_saved(saved, None).train.texts == splits.train.texts


def test_cut_texts_read_back_cut(tmp_path):
    path = tmp_path / "long.csv"
    rows = [f"{'word ' * 2000 if i == 0 else f'short {i}'},{'ab'[i % 2]}" for i in range(30)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    config = DataConfig(dataset=str(path), max_length=16)
    splits = load_splits(config)
    back = splits_from_saved(json.loads(json.dumps(splits.to_dict())), config)
    assert back.train.texts + back.test.texts + back.validation.texts == \
        splits.train.texts + splits.test.texts + splits.validation.texts
    assert max(len(t) for t in back.train.texts + back.test.texts + back.validation.texts) == 16 * 16 * 4
