"""Datasets: the offline registry, local files and folders, and the Hugging Face hub.

`load_splits(config.data)` resolves `data.dataset` in this order:

1. `hub:<id>`: the hub (`hub.py`);
2. a registered name (`lcl-tui datasets`; `registry.py`, built-ins in `offline.py`);
3. an existing file or folder (`local.py`);

anything else is a one-line DataError. Splits and size caps are applied in `splits.py`.
"""

from __future__ import annotations

from pathlib import Path

from lcl_tui.data.hub import HUB_PREFIX, load_hub, load_hub_source
from lcl_tui.data.local import FORMAT_HINT, FORMATS, load_local
from lcl_tui.data.registry import DatasetInfo, dataset_names, get_loader, list_datasets, register_dataset
from lcl_tui.data.splits import (
    DatasetSplits,
    SourceData,
    TextExamples,
    describe_splits,
    finalize_splits,
    stratified_split,
    stratified_subsample,
)
from lcl_tui.errors import DataError
from lcl_tui.data import paper as _paper  # noqa: E402,F401  registers the paper's hub datasets

__all__ = [
    "DatasetInfo",
    "DatasetSplits",
    "SourceData",
    "TextExamples",
    "describe_splits",
    "finalize_splits",
    "list_datasets",
    "load_hub_source",
    "load_source",
    "load_splits",
    "register_dataset",
    "stratified_split",
    "stratified_subsample",
]


def load_source(config) -> SourceData | DatasetSplits:
    """The examples behind `config.dataset`, with the splits the source itself has."""
    spec = config.dataset.strip()
    if spec.lower().startswith(HUB_PREFIX):
        return load_hub(config)
    loader = get_loader(spec)
    if loader is not None:
        return loader(config)
    path = Path(spec).expanduser()
    if path.exists():
        return load_local(config, path)
    known = ", ".join(dataset_names())
    if path.suffix.lower() in FORMATS or spec.startswith((".", "~", "/")) or "\\" in spec:
        raise DataError(f"file not found: {spec}; check the path (or use a dataset name: {known})")
    hint = f", hub:{spec} for the Hugging Face hub" if "/" in spec else ""
    raise DataError(f"unknown dataset '{spec}'; use a name from `lcl-tui datasets` ({known}){hint}, "
                    f"a local {FORMAT_HINT} file or folder, or hub:<id>")


def load_splits(config) -> DatasetSplits:
    """Train/validation/test for a `DataConfig`: seeded, stratified, capped, names kept."""
    return finalize_splits(load_source(config), config)
