"""Datasets from the Hugging Face hub: `hub:<id>` with `data.hub_config`.

`datasets.load_dataset(id, hub_config)` is called as such (tests monkeypatch it). The
source's `train` split is the pool; `validation` (or `valid`, `val`, `dev`) and `test`
are used when present, the rest carved as for any source. A hub split whose labels are
all -1 (GLUE-style unlabelled test sets) is ignored with a warning and carved instead.
A source with one split of another name uses it as the pool.

Label names, in order of preference: the label column's ClassLabel names (ids kept as the
hub has them); a `label_text` column next to integer labels (SetFit datasets: ids in
numeric order, named by their text); else the sorted unique labels (see `local`).
Any failure of the hub call itself is a one-line DataError.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lcl_tui.data.local import RawPart, columns_to_part, encode_parts, find_column, label_name, sort_label_names
from lcl_tui.data.splits import SourceData
from lcl_tui.errors import DataError

HUB_PREFIX = "hub:"
VALIDATION_NAMES = ("validation", "valid", "val", "dev")


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "no detail"
    text = f"{type(error).__name__}: {text}"
    return text if len(text) <= 200 else text[:197] + "..."


def _fetch(dataset_id: str, hub_config: str | None) -> dict[str, Any]:
    import datasets

    try:
        loaded = (datasets.load_dataset(dataset_id, hub_config) if hub_config
                  else datasets.load_dataset(dataset_id))
    except Exception as error:  # network, auth, unknown id or config: all one line for the user
        raise DataError(f"cannot load '{dataset_id}' from the Hugging Face hub ({_short(error)}); "
                        f"check the id and your connection, or use a local file") from None
    if isinstance(loaded, datasets.Dataset):
        return {"train": loaded}
    if isinstance(loaded, dict):
        return dict(loaded)
    raise DataError(f"'{dataset_id}' loads as {type(loaded).__name__}, not a dataset with splits; "
                    f"download it to a local file and use that")


def _pick_splits(available: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    if "train" in available:
        picked["train"] = available["train"]
    elif len(available) == 1:
        picked["train"] = next(iter(available.values()))
    else:
        raise DataError(f"'{dataset_id}' on the hub has no 'train' split (splits: "
                        f"{', '.join(available) or 'none'}); use a dataset with one, or a local file")
    for name in VALIDATION_NAMES:
        if name in available:
            picked["validation"] = available[name]
            break
    if "test" in available:
        picked["test"] = available["test"]
    return picked


def _columns(dataset: Any, wanted: list[str]) -> dict[str, list]:
    return {name: list(values) for name, values in dataset.select_columns(wanted).to_dict().items()}


def load_hub_source(dataset_id: str, hub_config: str | None = None, *, text_column: str = "text",
                    text_pair_column: str | None = None, label_column: str = "label",
                    name: str | None = None) -> SourceData:
    """A hub dataset as a `SourceData`; paper adapters call this from registered loaders."""
    name = name or f"{HUB_PREFIX}{dataset_id}"
    splits = _pick_splits(_fetch(dataset_id, hub_config), dataset_id)
    train = splits["train"]
    where = {split: f"'{dataset_id}' {split} split" for split in splits}
    available = {c: [] for c in train.column_names}
    text_col = find_column(available, text_column, "data.text_column", where["train"])
    pair_col = (find_column(available, text_pair_column, "data.text_pair_column", where["train"])
                if text_pair_column else None)
    label_col = find_column(available, label_column, "data.label_column", where["train"])
    columns = SimpleNamespace(text_column=text_col, text_pair_column=pair_col, label_column=label_col)
    tables, warnings = _read_tables(splits, columns, where)
    label_names, values = _label_names(train.features.get(label_col), tables, label_col, where)
    parts: dict[str, RawPart] = {}
    for split, table in tables.items():
        parts[split] = columns_to_part(table, columns, where[split], label_values=values[split])
    examples, names, label_warnings = encode_parts(parts, label_names)
    return SourceData(name=name, label_names=names, train=examples["train"],
                      validation=examples.get("validation"), test=examples.get("test"),
                      warnings=warnings + label_warnings)


def _read_tables(splits: dict[str, Any], columns: SimpleNamespace,
                 where: dict[str, str]) -> tuple[dict[str, dict[str, list]], list[str]]:
    """Each split's wanted columns (and `label_text` where there is one), and what was dropped."""
    text_col, pair_col, label_col = columns.text_column, columns.text_pair_column, columns.label_column
    keys = {text_col: "data.text_column", pair_col: "data.text_pair_column", label_col: "data.label_column"}
    warnings: list[str] = []
    tables: dict[str, dict[str, list]] = {}
    for split, dataset in splits.items():
        for column in (text_col, pair_col, label_col):
            if column and column not in dataset.column_names:
                find_column({c: [] for c in dataset.column_names}, column, keys[column], where[split])
        wanted = [c for c in (text_col, pair_col, label_col) if c]
        if "label_text" in dataset.column_names and "label_text" not in wanted:
            wanted.append("label_text")
        tables[split] = _columns(dataset, wanted)
    # Unlabelled hub splits (all -1 or all missing) are carved again instead.
    for split in [s for s in tables if s != "train"]:
        labels = tables[split][label_col]
        if labels and all(v is None or v == -1 for v in labels):
            warnings.append(f"{where[split]} has no labels (all -1); carved a {split} split from train instead")
            del tables[split]
    return tables, warnings


def _label_names(feature: Any, tables: dict[str, dict[str, list]], label_col: str,
                 where: dict[str, str]) -> tuple[list[str] | None, dict[str, list[str] | None]]:
    """The class names (a ClassLabel's, or a `label_text` column's) and each split's labels
    by name; (None, no names) leaves the labels as they are."""
    import datasets

    label_names: list[str] | None = None
    values: dict[str, list[str] | None] = {split: None for split in tables}
    if isinstance(feature, datasets.ClassLabel):
        label_names = list(feature.names)
        for split, table in tables.items():
            row_names = []
            for row, value in enumerate(table[label_col], start=1):
                if not isinstance(value, int) or not 0 <= value < len(label_names):
                    raise DataError(f"{where[split]} row {row} has label {value!r}, not one of its "
                                    f"{len(label_names)} classes; use another split or a local file")
                row_names.append(label_names[value])
            values[split] = row_names
    elif all("label_text" in table for table in tables.values()) and label_col != "label_text":
        text_of: dict[str, str] = {}
        canonical: dict[str, list[str]] = {}
        for split, table in tables.items():
            canonical[split] = []
            for row, (value, text) in enumerate(zip(table[label_col], table["label_text"]), start=1):
                key = label_name(value, row, where[split], label_col)
                canonical[split].append(key)
                if text is not None and str(text).strip():
                    text_of.setdefault(key, str(text).strip())
        ordered = sort_label_names(canonical["train"])
        texts = [text_of.get(key, key) for key in ordered]
        if len(set(texts)) == len(texts):
            label_names = texts
            named = dict(zip(ordered, texts))
            values = {split: [named.get(k, f"{k} (unnamed)") for k in keys_]
                      for split, keys_ in canonical.items()}
    return label_names, values


def load_hub(config) -> SourceData:
    """`config.dataset` is `hub:<id>`."""
    dataset_id = config.dataset.strip()[len(HUB_PREFIX):].strip()
    if not dataset_id:
        raise DataError("'hub:' needs a dataset id after it, e.g. hub:SetFit/sst5; set data.dataset")
    return load_hub_source(dataset_id, config.hub_config, text_column=config.text_column,
                           text_pair_column=config.text_pair_column, label_column=config.label_column,
                           name=config.dataset.strip())
