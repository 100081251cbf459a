"""Datasets: the offline registry, local files and folders, and the Hugging Face hub.

`load_splits(config.data)` resolves `data.dataset` in this order:

1. `hub:<id>`: the hub (`hub.py`);
2. a registered name (`lcl-tui datasets`; `registry.py`, built-ins in `offline.py`);
3. an existing file or folder (`local.py`);

anything else is a one-line DataError. Splits and size caps are applied in `splits.py`.

A run saves its split as row numbers and a fingerprint of the source when the source can
be read again as it was: a local file or folder (by its absolute path) or an offline
registry dataset. A hub dataset (`hub:<id>`, or a registered one backed by the hub) may
change upstream, leave the cache or need the network, so its split keeps the texts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lcl_tui.data.hub import HUB_PREFIX, load_hub, load_hub_source
from lcl_tui.data.local import FORMAT_HINT, FORMATS, load_local
from lcl_tui.data.registry import (
    DatasetInfo,
    dataset_names,
    get_loader,
    list_datasets,
    register_dataset,
    registered_source,
)
from lcl_tui.data.splits import (
    DatasetSplits,
    SourceData,
    TextExamples,
    cut_long_texts,
    describe_splits,
    finalize_splits,
    source_fingerprint,
    source_texts,
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
    "splits_from_saved",
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
    splits = finalize_splits(load_source(config), config)
    splits.reread_from = rereadable_name(config.dataset.strip())
    return splits


def rereadable_name(spec: str) -> str | None:
    """How to find the source again later (see the module doc), or None."""
    if spec.lower().startswith(HUB_PREFIX):
        return None
    if get_loader(spec) is not None:
        return spec if registered_source(spec) == "offline" else None
    return str(Path(spec).expanduser().resolve())


def splits_from_saved(raw: dict, data_config, run_name: str = "the run") -> DatasetSplits:
    """A saved split (split.json): texts as saved, or read again from the source by row."""

    def reread(dataset: str, fingerprint: str) -> list[str]:
        config = dataclasses.replace(data_config, dataset=dataset)
        try:
            source = load_source(config)
        except DataError as error:
            raise DataError(f"{run_name}'s data split lists rows of {dataset}, which cannot be read now "
                            f"({error}); put the data back where it was to resume") from None
        if source_fingerprint(source) != fingerprint:
            raise DataError(f"{dataset} changed since {run_name} split it (its fingerprint differs); "
                            "restore the data the run trained on, or start a new run")
        texts, _ = cut_long_texts(source_texts(source), data_config.max_length)
        return texts

    return DatasetSplits.from_dict(raw, source_texts=reread)
