"""Local data: one CSV/TSV/JSONL/JSON/parquet file, or a folder of split files.

* One file is one pool of examples, split like the offline datasets (its siblings are
  ignored, whatever they are called).
* A folder holds `train.<ext>` and optionally `test.<ext>` and `validation.<ext>` (or
  `valid`, `val`, `dev`): given splits are used as they are, missing ones carved from train.
* Columns: `data.text_column`, optional `data.text_pair_column` (joined to the first text
  with one space, as AG News title + description; an empty part is left out), and
  `data.label_column`. A column name that only differs in case or surrounding spaces
  is accepted.
* Text is read as text (CSV `007` stays `007`); surrounding whitespace is stripped.
  Rows whose text is empty or whitespace are dropped, counted in `DatasetSplits.warnings`;
  only a file with no text left is an error. A text cell that is not a string (a JSON
  number, list or object, a parquet list or number) is an error naming its column and row:
  a number in the text column almost always means `data.text_column` names the wrong
  column (an id, a score), and a list's or object's Python repr is not a text to train on.
  Texts that really are numbers must be written as strings (CSV and TSV always are).
* Labels are names or whole numbers. Numbers (or number strings) are whole: `1.0` is 1,
  `2.5` is an error. Names are sorted: whole numbers numerically (names `str(int)`), then
  other names alphabetically; the label id is the position in that order. A folder's
  label set comes from its train file; a validation/test label that train never uses is
  an error. A missing label (empty cell, null, NaN) is an error naming its row (rows
  count from 1, after the header).
* Encoding: UTF-8 (with or without BOM), UTF-16 with a BOM; any other bytes are read as
  cp1252 (latin-1 where cp1252 has no character), with a warning to re-save as UTF-8.
  A file with NUL bytes that is not UTF-16 is reported as binary.
* CSV is comma-separated, TSV tab-separated, both with a header row and standard quoting
  (a field that holds the separator, a quote or a newline is quoted, as pandas and
  spreadsheets write it). `.json` is an array of objects, an object of equal-length
  columns, `{"<key>": [objects]}`, or JSON lines; `.jsonl` is one object per line.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from lcl_tui.data.splits import SourceData, TextExamples
from lcl_tui.errors import DataError

FORMATS = {".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSON lines", ".json": "JSON", ".parquet": "parquet"}
FORMAT_HINT = ".csv, .tsv, .jsonl, .json or .parquet"
SPLIT_STEMS = {
    "train": ("train",),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test",),
}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_MISSING_WORDS = {"nan", "none", "null"}


# --- reading ------------------------------------------------------------------------------


def decode_text(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with (see the module doc for the order tried)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def _read_error(path: Path, error: OSError) -> DataError:
    reason = error.strerror or str(error)
    return DataError(f"cannot read {path} ({reason}); check the path and its permissions")


def _columns_from_records(records: list, path: Path, where: str) -> dict[str, list]:
    columns: dict[str, list] = {}
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise DataError(f"{path} {where} {number} is not a JSON object; write one "
                            f'{{"text": ..., "label": ...}} object per example')
        for key in record:
            if key not in columns:
                columns[key] = [None] * (number - 1)
        for key, values in columns.items():
            values.append(record.get(key))
    return columns


def _read_json_lines(text: str, path: Path) -> dict[str, list]:
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise DataError(f"{path} line {number} is not valid JSON ({error.msg}); fix that line "
                            f"(one JSON object per line)") from None
    return _columns_from_records(records, path, "line")


def _read_json(text: str, path: Path) -> dict[str, list]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # JSON lines saved as .json
            return _read_json_lines(text, path)
        raise DataError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}); fix the file "
                        f"or save it as JSON lines (.jsonl)") from None
    if isinstance(raw, list):
        return _columns_from_records(raw, path, "item")
    if isinstance(raw, dict):
        if raw and all(isinstance(v, list) for v in raw.values()) and len({len(v) for v in raw.values()}) == 1 \
                and not any(isinstance(x, dict) for v in raw.values() for x in v[:1]):
            return {str(k): list(v) for k, v in raw.items()}
        lists = [v for v in raw.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if len(lists) == 1:
            return _columns_from_records(lists[0], path, "item")
    raise DataError(f"{path} is JSON but not a list of examples; give an array of "
                    f'{{"text": ..., "label": ...}} objects or JSON lines (.jsonl)')


def _read_delimited(text: str, path: Path, sep: str, kind: str) -> dict[str, list]:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            na_values=[""], skip_blank_lines=True, engine="c")
    except pd.errors.EmptyDataError:
        return {}
    except (pd.errors.ParserError, ValueError) as error:
        detail = " ".join(str(error).split())[:200]
        raise DataError(f"cannot parse {path} as {kind} ({detail}); check the separator and quote "
                        f"texts that contain it") from None
    return {str(name): frame[name].tolist() for name in frame.columns}


def _read_parquet(path: Path) -> dict[str, list]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except OSError as error:
        if isinstance(error, (PermissionError, FileNotFoundError)):
            raise _read_error(path, error) from None
        detail = " ".join(str(error).split())[:200]
        raise DataError(f"cannot read {path} as parquet ({detail}); check that it is a parquet file") from None
    except Exception as error:  # pyarrow raises its own types for a damaged file
        detail = " ".join(str(error).split())[:200]
        raise DataError(f"cannot read {path} as parquet ({detail}); check that it is a parquet file") from None
    return {str(name): frame[name].tolist() for name in frame.columns}


def read_table(path: Path) -> tuple[dict[str, list], list[str]]:
    """The file's columns as lists, and warnings (a legacy encoding)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"unknown data format '{path.suffix or '(no extension)'}' for {path}; "
                        f"use {FORMAT_HINT} (save a spreadsheet as CSV)")
    if suffix == ".parquet":
        if not path.is_file():
            raise DataError(f"file not found: {path}; check the path")
        return _read_parquet(path), []
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _read_error(path, error) from None
    if not data.strip():
        return {}, []
    text, encoding = decode_text(data)
    warnings = []
    if encoding != "utf-16" and "\x00" in text:
        raise DataError(f"{path} holds binary data (NUL bytes), not {FORMATS[suffix]} text; "
                        f"give a text file saved as UTF-8")
    if encoding in ("cp1252", "latin-1"):
        warnings.append(f"{path} is not UTF-8; read it as {encoding} (re-save it as UTF-8 if "
                        f"characters look wrong)")
    if suffix in (".csv", ".tsv"):
        sep = "," if suffix == ".csv" else "\t"
        return _read_delimited(text, path, sep, FORMATS[suffix]), warnings
    if suffix == ".jsonl":
        return _read_json_lines(text, path), warnings
    return _read_json(text, path), warnings


# --- columns to examples ------------------------------------------------------------------


def find_column(columns: dict[str, list], name: str, key: str, where: str) -> str:
    if name in columns:
        return name
    loose = [c for c in columns if c.strip().lower() == name.strip().lower()]
    if len(loose) == 1:
        return loose[0]
    shown = ", ".join(repr(c) for c in list(columns)[:20]) + (", ..." if len(columns) > 20 else "")
    raise DataError(f"{where} has no column '{name}' (columns: {shown}); set {key} to one of them")


def _is_missing(value: Any) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and (not value.strip() or value.strip().lower() in _MISSING_WORDS)


def _text(value: Any, row: int, where: str, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, int, float)) or getattr(value, "ndim", None) == 0:  # numpy scalars too
        what, fix = f"a number ({value!r})", (f"check data.text_column / data.text_pair_column (is '{column}' "
                                              "an id or a score?), or write the texts as strings")
    else:
        shown = repr(value)
        what = f"a value of type {type(value).__name__} ({shown[:40]}{'...' if len(shown) > 40 else ''})"
        fix = "give one string per cell (join or pick the part to classify first)"
    raise DataError(f"{where} row {row} has {what} in text column '{column}', not text; {fix}")


def label_name(value: Any, row: int, where: str, column: str) -> str:
    """The canonical label name of one cell: whole numbers as `str(int)`, names stripped."""
    if _is_missing(value):
        raise DataError(f"{where} row {row} has no label in column '{column}'; fill it in or remove the row")
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value.strip()) if not re.fullmatch(r"[+-]?\d+", value.strip()) else int(value.strip())
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        raise DataError(f"{where} row {row} has label {value!r} in column '{column}', not a whole number; "
                        f"labels must be class names or whole numbers (bin scores into classes first)")
    if isinstance(value, str):
        return value.strip()
    if hasattr(value, "item"):  # a numpy scalar
        return label_name(value.item(), row, where, column)
    raise DataError(f"{where} row {row} has label {value!r} in column '{column}'; labels must be "
                    f"class names or whole numbers")


def sort_label_names(names: set[str] | list[str]) -> list[str]:
    """Whole numbers numerically first, then other names alphabetically."""
    def key(name: str):
        return (0, int(name), "") if re.fullmatch(r"-?\d+", name) else (1, 0, name)
    return sorted(set(names), key=key)


class RawPart:
    """One split's texts, canonical label names and source row numbers, before ids."""

    def __init__(self, where: str, texts: list[str], labels: list[str], rows: list[int], dropped: int):
        self.where, self.texts, self.labels, self.rows, self.dropped = where, texts, labels, rows, dropped


def columns_to_part(columns: dict[str, list], config, where: str, *,
                    label_values: list[str] | None = None) -> RawPart:
    """Texts (pair joined, empty dropped) and label names from a table's columns.

    `label_values`, when given, are names already known per row (a hub's ClassLabel).
    """
    if not columns or not any(len(v) for v in columns.values()):
        raise DataError(f"{where} has no rows; add examples (a header row with "
                        f"'{config.text_column}' and '{config.label_column}', then one row per example)")
    text_col = find_column(columns, config.text_column, "data.text_column", where)
    pair_col = (find_column(columns, config.text_pair_column, "data.text_pair_column", where)
                if config.text_pair_column else None)
    label_col = None if label_values is not None else find_column(columns, config.label_column,
                                                                  "data.label_column", where)
    firsts = columns[text_col]
    seconds = columns[pair_col] if pair_col else [None] * len(firsts)
    texts, labels, rows, dropped = [], [], [], 0
    for index, (first, second) in enumerate(zip(firsts, seconds)):
        row = index + 1
        pieces = (_text(first, row, where, text_col), _text(second, row, where, pair_col or text_col))
        text = " ".join(part for part in pieces if part)
        if not text:
            dropped += 1
            continue
        labels.append(label_values[index] if label_values is not None
                      else label_name(columns[label_col][index], row, where, label_col))
        texts.append(text)
        rows.append(row)
    if not texts:
        joined = f"'{text_col}'" + (f" and '{pair_col}'" if pair_col else "")
        raise DataError(f"every row of {where} has an empty {joined}; check data.text_column "
                        f"(columns: {', '.join(map(repr, list(columns)[:20]))})")
    return RawPart(where, texts, labels, rows, dropped)


def encode_parts(parts: dict[str, RawPart], label_names: list[str] | None = None
                 ) -> tuple[dict[str, TextExamples], list[str], list[str]]:
    """Label ids for each split from train's sorted label names (or the given names).

    Returns the examples per split, the label names and warnings (dropped rows).
    """
    train = parts["train"]
    names = label_names if label_names is not None else sort_label_names(train.labels)
    ids = {name: i for i, name in enumerate(names)}
    out, warnings = {}, []
    for split, part in parts.items():
        unseen = [(name, row) for name, row in zip(part.labels, part.rows) if name not in ids]
        if unseen:
            shown = ", ".join(dict.fromkeys(f"'{name}'" for name, _ in unseen[:50]).keys())
            origin = "its label set" if label_names is not None else f"{train.where} never uses it"
            raise DataError(f"{part.where} has label {shown} (row {unseen[0][1]}) but {origin}; fix the "
                            f"label or add training examples of it (train labels: "
                            f"{', '.join(names[:12])}{', ...' if len(names) > 12 else ''})")
        out[split] = TextExamples(part.texts, [ids[name] for name in part.labels])
        if part.dropped:
            warnings.append(f"dropped {part.dropped} row(s) with empty text from {part.where}")
    return out, names, warnings


# --- files and folders --------------------------------------------------------------------


def _split_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise _read_error(folder, error) from None
    for split, stems in SPLIT_STEMS.items():
        matches = [p for p in entries if p.is_file() and p.stem.lower() in stems and p.suffix.lower() in FORMATS]
        if len(matches) > 1:
            raise DataError(f"{folder} has several {split} files ({', '.join(p.name for p in matches)}); "
                            f"keep one")
        if matches:
            found[split] = matches[0]
    if "train" not in found:
        raise DataError(f"folder {folder} has no train file (train.csv, train.tsv, train.jsonl, train.json or "
                        f"train.parquet); "
                        f"add one, or give a single data file to split")
    return found


def load_local(config, path: Path | None = None) -> SourceData:
    """A local file (one pool) or folder (train/validation/test files) as a `SourceData`."""
    path = path if path is not None else Path(config.dataset.strip()).expanduser()
    files = _split_files(path) if path.is_dir() else {"train": path}
    warnings: list[str] = []
    parts: dict[str, RawPart] = {}
    for split, file in files.items():
        columns, read_warnings = read_table(file)
        warnings.extend(read_warnings)
        parts[split] = columns_to_part(columns, config, str(file))
    examples, names, label_warnings = encode_parts(parts)
    return SourceData(name=config.dataset.strip(), label_names=names, train=examples["train"],
                      validation=examples.get("validation"), test=examples.get("test"),
                      warnings=warnings + label_warnings)
