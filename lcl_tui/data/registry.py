"""Named datasets: the offline ones built in, and any that other modules register.

A loader is `loader(config: DataConfig) -> SourceData | DatasetSplits`: it returns the
examples and whatever splits the source has; `load_splits` carves the rest and applies
the size caps. A paper adapter adds a hub dataset like this:

    register_dataset(
        "ag-news",
        lambda config: load_hub_source("fancyzhx/ag_news", None, name="ag-news"),
        description="AG News topics", num_labels=4, size=127600, source="hub",
    )
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from lcl_tui.data.offline import OFFLINE_DATASETS, OFFLINE_LOADERS
from lcl_tui.data.splits import DatasetSplits, SourceData

Loader = Callable[..., Union[SourceData, DatasetSplits]]
SOURCES = ("offline", "hub")


@dataclass
class DatasetInfo:
    name: str
    description: str
    num_labels: int | None  # None if unknown without loading (hub)
    size: int | None
    source: str  # "offline", "hub"


@dataclass
class _Entry:
    info: DatasetInfo
    loader: Loader


_REGISTRY: dict[str, _Entry] = {}


def register_dataset(name: str, loader: Loader, *, description: str, num_labels: int | None = None,
                     size: int | None = None, source: str = "offline") -> None:
    """Add (or replace) a named dataset; see the module doc for the loader's contract."""
    if not isinstance(name, str) or not name.strip() or name != name.strip() or name.startswith("hub:"):
        raise ValueError(f"dataset name must be non-empty, unpadded and not start with 'hub:' (got {name!r})")
    if not callable(loader):
        raise ValueError(f"loader for {name!r} must be callable")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)} (got {source!r})")
    _REGISTRY[name] = _Entry(DatasetInfo(name, description, num_labels, size, source), loader)


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset, built-in ones first, then in registration order."""
    return [DatasetInfo(**vars(entry.info)) for entry in _REGISTRY.values()]


def get_loader(name: str) -> Loader | None:
    entry = _REGISTRY.get(name)
    return entry.loader if entry else None


def registered_source(name: str) -> str | None:
    """Where a registered dataset comes from ("offline", "hub"), or None if not registered."""
    entry = _REGISTRY.get(name)
    return entry.info.source if entry else None


def dataset_names() -> list[str]:
    return list(_REGISTRY)


for _name, (_description, _num_labels, _size) in OFFLINE_DATASETS.items():
    register_dataset(_name, OFFLINE_LOADERS[_name], description=_description,
                     num_labels=_num_labels, size=_size, source="offline")
