"""A run's per-example test predictions, kept so runs can be compared example by example.

    runs/<run-id>/test_predictions.json
        {"format": 1, "test_rows": "<sha256>", "label_names": [...],
         "labels": [...], "predictions": [...]}

`labels` are the true labels in the order of the run's test split (split.json's test
rows), `predictions` the best checkpoint's label for each. `test_rows` fingerprints the
test texts and labels: two runs pair up example by example only when it is the same.
Runs from before this file existed simply lack it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lcl_tui.atomic import atomic_write_json

FILE_NAME = "test_predictions.json"
FORMAT = 1

log = logging.getLogger("lcl_tui.predictions")


@dataclass(frozen=True)
class StoredPredictions:
    test_rows: str
    label_names: tuple[str, ...]
    labels: tuple[int, ...]
    predictions: tuple[int, ...]

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


def digest_rows(texts: Sequence[str], labels: Sequence[int]) -> str:
    payload = json.dumps([list(texts), list(labels)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def save_test_predictions(run_folder: Path, texts: Sequence[str], labels: Sequence[int],
                          predictions: Sequence[int], label_names: Sequence[str]) -> bool:
    """Write the file atomically; False (and a warning) if the disk refuses, since a run's
    test result must never be lost over this extra file."""
    if len(texts) != len(labels) or len(labels) != len(predictions):
        raise ValueError(f"{len(texts)} texts, {len(labels)} labels, {len(predictions)} predictions")
    try:
        atomic_write_json(Path(run_folder) / FILE_NAME, {
            "format": FORMAT,
            "test_rows": digest_rows(texts, labels),
            "label_names": list(label_names),
            "labels": [int(y) for y in labels],
            "predictions": [int(p) for p in predictions],
        })
    except OSError as error:
        log.warning("could not write %s in %s (%s); sweeps will show no bootstrap for this run",
                    FILE_NAME, run_folder, error.strerror or error)
        return False
    return True


def load_test_predictions(run_folder: Path) -> StoredPredictions | None:
    """The run's stored predictions; None if it has none or the file is damaged."""
    try:
        raw = json.loads((Path(run_folder) / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        return None
    names, labels, predictions, rows = (raw.get(key) for key in
                                        ("label_names", "labels", "predictions", "test_rows"))
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and isinstance(rows, str)
            and isinstance(labels, list) and isinstance(predictions, list)
            and len(labels) == len(predictions)):
        return None
    ids = [*labels, *predictions]
    if not all(isinstance(y, int) and not isinstance(y, bool) and 0 <= y < len(names) for y in ids):
        return None
    return StoredPredictions(test_rows=rows, label_names=tuple(names), labels=tuple(labels),
                             predictions=tuple(predictions))
