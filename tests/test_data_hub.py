"""`hub:<id>` with `datasets.load_dataset` monkeypatched to a local DatasetDict (no network)."""

from __future__ import annotations

import datasets
import pytest

from lcl_tui.config import DataConfig
from lcl_tui.data import load_hub_source, load_splits
from lcl_tui.errors import DataError

NAMES = ["very negative", "negative", "neutral", "positive", "very positive"]


def table(n: int, prefix: str, labels=None, **extra) -> dict:
    labels = labels if labels is not None else [i % 5 for i in range(n)]
    return {"text": [f"{prefix} {i}" for i in range(n)], "label": labels, **extra}


def with_classlabel(data: dict) -> datasets.Dataset:
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=NAMES)})
    return datasets.Dataset.from_dict(data, features=features)


@pytest.fixture
def hub(monkeypatch):
    calls = []

    def install(result):
        def fake_load_dataset(path, name=None, **kwargs):
            calls.append((path, name))
            if isinstance(result, Exception):
                raise result
            return result
        monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
        return calls
    return install


def test_classlabel_names_and_given_splits(hub):
    calls = hub(datasets.DatasetDict(
        train=with_classlabel(table(100, "tr")),
        validation=with_classlabel(table(20, "va")),
        test=with_classlabel(table(30, "te")),
    ))
    splits = load_splits(DataConfig(dataset="hub:SetFit/sst5", hub_config="default", split_seed=3))
    assert calls == [("SetFit/sst5", "default")]
    assert splits.name == "hub:SetFit/sst5" and splits.label_names == NAMES
    assert sorted(splits.test.texts) == sorted(f"te {i}" for i in range(30))
    assert sorted(splits.validation.texts) == sorted(f"va {i}" for i in range(20))
    assert len(splits.train) == 100
    assert all(int(t.split()[1]) % 5 == y for t, y in zip(splits.train.texts, splits.train.labels))


def test_classlabel_ids_are_kept_even_for_an_unsorted_order(hub):
    names = ["zebra", "apple"]
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    data = datasets.Dataset.from_dict(table(20, "t", [i % 2 for i in range(20)]), features=features)
    hub(datasets.DatasetDict(train=data))
    splits = load_splits(DataConfig(dataset="hub:x/y"))
    assert splits.label_names == ["zebra", "apple"]
    assert all(int(t.split()[1]) % 2 == y for t, y in zip(splits.test.texts, splits.test.labels))


def test_label_text_column_names_integer_labels(hub):
    def setfit(n, prefix):
        labels = [i % 3 for i in range(n)]
        return datasets.Dataset.from_dict(table(n, prefix, labels, label_text=[["neg", "neu", "pos"][y] for y in labels]))
    hub(datasets.DatasetDict(train=setfit(60, "tr"), test=setfit(15, "te")))
    splits = load_splits(DataConfig(dataset="hub:SetFit/sentiment"))
    assert splits.label_names == ["neg", "neu", "pos"]
    assert len(splits.test) == 15 and len(splits.train) + len(splits.validation) == 60
    assert all(int(t.split()[1]) % 3 == y for t, y in zip(splits.test.texts, splits.test.labels))


def test_plain_string_labels_are_sorted(hub):
    data = datasets.Dataset.from_dict({"sentence": [f"s {i}" for i in range(30)],
                                       "category": [["sport", "art", "tech"][i % 3] for i in range(30)]})
    hub(data)  # a bare Dataset: one pool
    splits = load_splits(DataConfig(dataset="hub:someone/news", text_column="sentence", label_column="category"))
    assert splits.label_names == ["art", "sport", "tech"]
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (21, 3, 6)


def test_text_pair_on_the_hub(hub):
    data = datasets.Dataset.from_dict(table(20, "body", title=[f"title {i}" for i in range(20)]))
    hub(datasets.DatasetDict(train=data))
    splits = load_splits(DataConfig(dataset="hub:ag/news", text_column="title", text_pair_column="text"))
    assert "title 4 body 4" in splits.train.texts + splits.validation.texts + splits.test.texts


def test_unlabelled_test_split_is_carved_again(hub):
    hub(datasets.DatasetDict(
        train=with_classlabel(table(100, "tr")),
        test=with_classlabel(table(10, "te", [-1] * 10)),
    ))
    splits = load_splits(DataConfig(dataset="hub:glue/sst"))
    assert len(splits.test) == 20 and all(t.startswith("tr") for t in splits.test.texts)
    assert any("test split has no labels (all -1)" in w for w in splits.warnings)


def test_one_oddly_named_split_is_the_pool(hub):
    hub(datasets.DatasetDict(full=datasets.Dataset.from_dict(table(50, "x"))))
    splits = load_splits(DataConfig(dataset="hub:a/b"))
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 50
    assert splits.label_names == ["0", "1", "2", "3", "4"]


def test_no_train_split(hub):
    d = datasets.Dataset.from_dict(table(10, "x"))
    hub(datasets.DatasetDict(a=d, b=d))
    with pytest.raises(DataError, match=r"has no 'train' split \(splits: a, b\)"):
        load_splits(DataConfig(dataset="hub:a/b"))


@pytest.mark.parametrize("error", [ConnectionError("Couldn't reach 'x/y' on the Hub (LocalEntryNotFoundError)"),
                                   FileNotFoundError("Dataset 'x/y' doesn't exist on the Hub"),
                                   ValueError("BuilderConfig 'nope' not found.\nAvailable: ['a']")])
def test_hub_failure_is_one_line(hub, error):
    hub(error)
    with pytest.raises(DataError) as info:
        load_splits(DataConfig(dataset="hub:x/y", hub_config="nope"))
    message = str(info.value)
    assert message.startswith("cannot load 'x/y' from the Hugging Face hub (")
    assert message.endswith("); check the id and your connection, or use a local file")
    assert type(error).__name__ in message and "\n" not in message


def test_real_offline_hub_call_fails_cleanly(monkeypatch):
    import huggingface_hub.constants

    # The real load_dataset, made to fail fast the way it does under HF_DATASETS_OFFLINE=1.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match="cannot load 'nobody-xyz/no-such-dataset' from the Hugging Face hub"):
        load_hub_source("nobody-xyz/no-such-dataset")


def test_missing_hub_column_lists_columns(hub):
    hub(datasets.DatasetDict(train=datasets.Dataset.from_dict(table(10, "x"))))
    with pytest.raises(DataError, match=r"has no column 'sentence' \(columns: 'text', 'label'\); set data.text_column"):
        load_splits(DataConfig(dataset="hub:x/y", text_column="sentence"))


def test_hub_needs_an_id():
    with pytest.raises(DataError, match="'hub:' needs a dataset id"):
        load_splits(DataConfig(dataset="hub:"))


def test_load_hub_source_for_adapters(hub):
    calls = hub(datasets.DatasetDict(train=with_classlabel(table(40, "t")), test=with_classlabel(table(10, "e"))))
    source = load_hub_source("SetFit/sst5", name="sst-5")
    assert calls == [("SetFit/sst5", None)]
    assert source.name == "sst-5" and source.validation is None and len(source.test) == 10
