"""Local files and folders: formats, column mapping, label handling, every user error."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from lcl_tui.config import DataConfig
from lcl_tui.data import load_splits
from lcl_tui.errors import DataError



def rows(n_per_class: int = 30, labels=("neg", "pos")) -> list[dict]:
    out = []
    for i in range(n_per_class):
        for label in labels:
            out.append({"review": f"{label} review {i}", "title": f"title {label} {i}", "stars": label})
    return out


def config(path, **kw) -> DataConfig:
    kw.setdefault("text_column", "review")
    kw.setdefault("label_column", "stars")
    return DataConfig(dataset=str(path), **kw)


def all_texts(splits) -> list[str]:
    return splits.train.texts + splits.validation.texts + splits.test.texts


def write_frame(path, records, **kw):
    frame = pd.DataFrame(records)
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False, **kw)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t", **kw)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(records), encoding="utf-8")
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    return path


# --- formats and mapping -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_every_format_loads_with_column_mapping(tmp_path, suffix):
    path = write_frame(tmp_path / f"reviews{suffix}", rows())
    splits = load_splits(config(path))
    assert splits.label_names == ["neg", "pos"]
    assert sorted(all_texts(splits)) == sorted(r["review"] for r in rows())
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (42, 6, 12)
    for part in (splits.train, splits.validation, splits.test):
        assert all(t.startswith(splits.label_names[y]) for t, y in zip(part.texts, part.labels))
        assert part.labels.count(0) == part.labels.count(1)  # stratified
    assert splits.name == str(path) and not splits.warnings


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_text_pair_column_is_joined_with_a_space(tmp_path, suffix):
    path = write_frame(tmp_path / f"news{suffix}", rows())
    splits = load_splits(config(path, text_column="title", text_pair_column="review"))
    assert "title pos 3 pos review 3" in all_texts(splits)


def test_an_empty_pair_part_is_left_out(tmp_path):
    records = rows()
    records[0]["review"] = ""
    path = write_frame(tmp_path / "news.jsonl", records)
    splits = load_splits(config(path, text_column="title", text_pair_column="review"))
    assert "title neg 0" in all_texts(splits)


def test_column_names_match_loosely(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("Review , Stars\n" + "".join(f"text {i},{i % 2}\n" for i in range(20)), encoding="utf-8")
    splits = load_splits(config(path))
    assert splits.label_names == ["0", "1"]


def test_json_object_of_columns_and_wrapped_records(tmp_path):
    columns = tmp_path / "cols.json"
    columns.write_text(json.dumps({"review": [f"t{i}" for i in range(20)], "stars": [i % 2 for i in range(20)]}))
    assert load_splits(config(columns)).label_names == ["0", "1"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"version": 1, "data": rows(10)}))
    assert load_splits(config(wrapped)).label_names == ["neg", "pos"]
    lines = tmp_path / "lines.json"
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows(10)))
    assert len(all_texts(load_splits(config(lines)))) == 20


def test_sibling_files_are_ignored_for_a_single_file(tmp_path):
    write_frame(tmp_path / "train.csv", rows())
    write_frame(tmp_path / "test.csv", rows(5))
    splits = load_splits(config(tmp_path / "train.csv"))
    assert len(all_texts(splits)) == 60  # one pool, the test file not used


# --- labels -----------------------------------------------------------------------------------


def test_integer_labels_are_named_by_their_number_in_numeric_order(tmp_path):
    path = tmp_path / "stars.csv"
    path.write_text("review,stars\n" + "".join(f"text {i},{[1, 2, 10][i % 3]}\n" for i in range(30)))
    splits = load_splits(config(path))
    assert splits.label_names == ["1", "2", "10"]
    for part in (splits.train, splits.test):
        for text, label in zip(part.texts, part.labels):
            assert splits.label_names[label] == str([1, 2, 10][int(text.split()[1]) % 3])


def test_zero_based_integer_labels_keep_their_ids(tmp_path):
    path = write_frame(tmp_path / "d.jsonl", [{"review": f"t{i}", "stars": i % 3} for i in range(30)])
    splits = load_splits(config(path))
    assert splits.label_names == ["0", "1", "2"]
    assert all(int(t[1:]) % 3 == y for t, y in zip(splits.train.texts, splits.train.labels))


def test_whole_floats_are_integers(tmp_path):
    path = write_frame(tmp_path / "d.jsonl", [{"review": f"t{i}", "stars": float(i % 2)} for i in range(20)])
    assert load_splits(config(path)).label_names == ["0", "1"]


def test_string_labels_are_sorted(tmp_path):
    path = write_frame(tmp_path / "d.csv", rows(10, labels=("pos", "neutral", "neg")))
    assert load_splits(config(path)).label_names == ["neg", "neutral", "pos"]


def test_texts_are_read_as_text(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,stars\n007,a\n1e5,b\nNA,a\nnull,b\n" + "".join(f"x{i},{'ab'[i % 2]}\n" for i in range(10)))
    texts = all_texts(load_splits(config(path)))
    assert {"007", "1e5", "NA", "null"} <= set(texts)


def test_quoted_tabs_and_newlines_in_tsv(tmp_path):
    records = rows(10)
    records[0]["review"] = "has\ta tab and\na newline"
    path = write_frame(tmp_path / "d.tsv", records)
    assert "has\ta tab and\na newline" in all_texts(load_splits(config(path)))


def test_a_huge_line_is_cut_at_load_with_a_count(tmp_path, caplog):
    """A 1.5 MB line would be tokenized whole (a 50 MB one took 82 s and 7 GB): it is cut to
    16 characters per token x max_length x 4, and the warning counts the cut texts."""
    records = rows(10)
    records[0]["review"] = "word " * 300_000
    records[1]["review"] = "x" * 5000
    path = write_frame(tmp_path / "d.csv", records)
    splits = load_splits(config(path, max_length=64))
    limit = 16 * 64 * 4
    assert max(len(t) for t in all_texts(splits)) == limit
    assert ("word " * 300_000)[:limit] in all_texts(splits)
    assert any(f"cut 2 text(s) to their first {limit} characters" in w for w in splits.warnings)
    assert "cut 2 text(s)" in caplog.text
    assert load_splits(config(path, max_length=512)).warnings[-1].startswith("cut 1 text(s)")


@pytest.mark.parametrize("suffix, cell, shown", [
    (".jsonl", {"a": 1}, "a value of type dict ({'a': 1})"),
    (".jsonl", ["two", "words"], "a value of type list (['two', 'words'])"),
    (".jsonl", 5, "a number (5)"),
    (".jsonl", 2.5, "a number (2.5)"),
    (".jsonl", True, "a number (True)"),
    (".parquet", ["a", "list"], "a value of type ndarray"),
    (".parquet", 7, "a number"),
])
def test_a_text_cell_that_is_not_a_string_is_an_error_naming_the_column_and_row(tmp_path, suffix, cell, shown):
    records = rows(10)
    if suffix == ".parquet":  # a column holds one type: every cell of that kind
        for number, record in enumerate(records):
            record["review"] = [cell[0], f"{cell[1]} {number}"] if isinstance(cell, list) else cell + number
    else:
        records[2]["review"] = cell
    path = write_frame(tmp_path / f"d{suffix}", records)
    with pytest.raises(DataError) as caught:
        load_splits(config(path))
    message = str(caught.value)
    row = 1 if suffix == ".parquet" else 3
    assert f"{path} row {row} has {shown}" in message and "text column 'review'" in message, message
    assert "\n" not in message


# --- folders of split files ----------------------------------------------------------------


def test_folder_with_train_and_test_carves_validation(tmp_path):
    write_frame(tmp_path / "train.csv", rows(30))
    write_frame(tmp_path / "test.csv", [{"review": f"held out {i}", "stars": "pos" if i % 2 else "neg"}
                                        for i in range(10)])
    (tmp_path / "README.md").write_text("ignored")
    splits = load_splits(config(tmp_path, validation_fraction=0.2))
    assert sorted(splits.test.texts) == sorted(f"held out {i}" for i in range(10))
    assert (len(splits.train), len(splits.validation)) == (48, 12)
    assert not set(splits.train.texts) & set(splits.validation.texts)


@pytest.mark.parametrize("val_name", ["validation.jsonl", "dev.jsonl", "valid.jsonl"])
def test_folder_with_all_three_splits_uses_them(tmp_path, val_name):
    write_frame(tmp_path / "train.jsonl", rows(20))
    write_frame(tmp_path / val_name, [{"review": f"dev {i}", "stars": "neg"} for i in range(4)])
    write_frame(tmp_path / "test.jsonl", [{"review": f"test {i}", "stars": "pos"} for i in range(6)])
    splits = load_splits(config(tmp_path))
    assert len(splits.train) == 40 and len(splits.validation) == 4 and len(splits.test) == 6
    assert splits.validation.labels == [0] * 4 and splits.test.labels == [1] * 6


def test_folder_with_only_train_is_split(tmp_path):
    write_frame(tmp_path / "train.parquet", rows(25))
    splits = load_splits(config(tmp_path))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (35, 5, 10)


def test_folder_label_unseen_in_train_is_named(tmp_path):
    write_frame(tmp_path / "train.csv", rows(10))
    write_frame(tmp_path / "test.csv", [{"review": "x", "stars": "neg"}, {"review": "y", "stars": "mixed"}])
    with pytest.raises(DataError) as info:
        load_splits(config(tmp_path))
    message = str(info.value)
    assert "test.csv has label 'mixed' (row 2)" in message and "never uses it" in message
    assert "add training examples" in message


def test_folder_without_train_file(tmp_path):
    write_frame(tmp_path / "test.csv", rows(5))
    with pytest.raises(DataError, match="has no train file .*train.csv.*add one, or give a single data file"):
        load_splits(config(tmp_path))


def test_folder_with_two_train_files(tmp_path):
    write_frame(tmp_path / "train.csv", rows(5))
    write_frame(tmp_path / "train.jsonl", rows(5))
    with pytest.raises(DataError, match=r"several train files \(train.csv, train.jsonl\); keep one"):
        load_splits(config(tmp_path))


# --- errors and warnings --------------------------------------------------------------------


def test_unknown_format(tmp_path):
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match=r"unknown data format '.xlsx'.*use .csv, .tsv, .jsonl, .json or .parquet"):
        load_splits(config(path))


def test_missing_column_lists_the_columns(tmp_path):
    path = write_frame(tmp_path / "d.csv", rows(5))
    with pytest.raises(DataError) as info:
        load_splits(config(path, text_column="sentence"))
    assert str(info.value) == (f"{path} has no column 'sentence' (columns: 'review', 'title', 'stars'); "
                               f"set data.text_column to one of them")
    with pytest.raises(DataError, match="no column 'label' .*set data.label_column"):
        load_splits(config(path, label_column="label"))
    with pytest.raises(DataError, match="no column 'body' .*set data.text_pair_column"):
        load_splits(config(path, text_pair_column="body"))


@pytest.mark.parametrize("content", ["", "\n\n", "review,stars\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(DataError, match="has no rows; add examples"):
        load_splits(config(path))


def test_empty_jsonl(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n")
    with pytest.raises(DataError, match="has no rows"):
        load_splits(config(path))


def test_empty_texts_are_dropped_with_a_count(tmp_path, caplog):
    records = rows(10) + [{"review": "   ", "stars": "pos"}, {"review": None, "stars": None}]
    path = write_frame(tmp_path / "d.jsonl", records)
    splits = load_splits(config(path))
    assert len(all_texts(splits)) == 20
    assert splits.warnings == [f"dropped 2 row(s) with empty text from {path}"]
    assert "dropped 2 row(s)" in caplog.text
    assert splits.to_dict()["warnings"] == splits.warnings


def test_only_empty_texts_is_an_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,stars\n,a\n  ,b\n")
    with pytest.raises(DataError, match="every row of .* has an empty 'review'; check data.text_column"):
        load_splits(config(path))


@pytest.mark.parametrize("suffix, missing", [(".csv", ""), (".jsonl", None), (".jsonl", float("nan")),
                                             (".parquet", None)])
def test_missing_label_names_the_row(tmp_path, suffix, missing):
    records = rows(5)
    records[6]["stars"] = missing
    path = write_frame(tmp_path / f"d{suffix}", records)
    with pytest.raises(DataError, match=r"row 7 has no label in column 'stars'; fill it in or remove the row"):
        load_splits(config(path))


def test_non_integral_float_labels(tmp_path):
    path = write_frame(tmp_path / "d.csv", [{"review": f"t{i}", "stars": i / 2} for i in range(10)])
    with pytest.raises(DataError, match=r"row 2 has label 0.5 .*not a whole number; .*bin scores"):
        load_splits(config(path))


def test_single_class(tmp_path):
    path = write_frame(tmp_path / "d.csv", [{"review": f"t{i}", "stars": "pos"} for i in range(10)])
    with pytest.raises(DataError, match=r"only one class \('pos'\).*need at least 2 classes"):
        load_splits(config(path))


def test_non_utf8_is_read_as_cp1252_with_a_warning(tmp_path):
    path = tmp_path / "legacy.csv"
    body = "review,stars\n" + "".join(f"caf\u00e9 \u2019{i}\u2019,{'ab'[i % 2]}\n" for i in range(20))
    path.write_bytes(body.encode("cp1252"))
    splits = load_splits(config(path))
    assert "caf\u00e9 \u20193\u2019" in all_texts(splits)
    assert splits.warnings == [f"{path} is not UTF-8; read it as cp1252 (re-save it as UTF-8 if characters "
                               f"look wrong)"]


def test_utf8_bom_and_utf16(tmp_path):
    body = "review,stars\n" + "".join(f"na\u00efve {i},{'ab'[i % 2]}\n" for i in range(20))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    assert "na\u00efve 1" in all_texts(load_splits(config(bom)))
    wide = tmp_path / "wide.csv"
    wide.write_bytes(body.encode("utf-16"))
    assert "na\u00efve 1" in all_texts(load_splits(config(wide)))


def test_binary_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match="holds binary data .*give a text file saved as UTF-8"):
        load_splits(config(path))


def test_unparseable_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,stars\na,b\nc,d,e,f\n")
    with pytest.raises(DataError, match=r"cannot parse .* as CSV \(.*\); check the separator"):
        load_splits(config(path))


def test_invalid_json_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"review": "a", "stars": 1}\n{"review": oops}\n')
    with pytest.raises(DataError, match=r"line 2 is not valid JSON .*fix that line"):
        load_splits(config(path))
    path.write_text('[1, 2]\n')
    with pytest.raises(DataError, match="line 1 is not a JSON object"):
        load_splits(config(path))


def test_invalid_json_file(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"review": ')
    with pytest.raises(DataError, match="is not valid JSON .*fix the file"):
        load_splits(config(path))
    path.write_text('{"a": 1}')
    with pytest.raises(DataError, match="not a list of examples"):
        load_splits(config(path))


def test_damaged_parquet(tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read .* as parquet .*check that it is a parquet file"):
        load_splits(config(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = write_frame(tmp_path / "d.csv", rows(5))
    path.chmod(0)
    try:
        with pytest.raises(DataError, match="cannot read .*Permission denied.*check the path and its permissions"):
            load_splits(config(path))
    finally:
        path.chmod(0o644)


def test_unreadable_path_is_a_data_error(tmp_path):
    # A folder named like a file reads as a folder without split files.
    folder = tmp_path / "d.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="has no train file"):
        load_splits(config(folder))


def test_every_error_is_one_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,stars\na,b\nc,d,e,f\n")
    with pytest.raises(DataError) as info:
        load_splits(config(path))
    assert "\n" not in str(info.value)


def test_read_failure_is_a_data_error(tmp_path, monkeypatch):
    path = write_frame(tmp_path / "d.csv", rows(5))
    real = type(path).read_bytes

    def deny(self):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(type(path), "read_bytes", deny)
    with pytest.raises(DataError, match=r"cannot read .*d.csv \(Permission denied\); check the path and its permissions"):
        load_splits(config(path))
