"""The split data types, and seeded stratified splitting and subsampling.

Every source (registry, local file or folder, hub) hands back a `SourceData`: a train
pool and, where the source has them, its own validation and test splits.
`finalize_splits` turns that into `DatasetSplits`:

* no test split: a stratified `test_fraction` of the pool becomes test;
* no validation split: a stratified `validation_fraction` becomes validation. When both
  are carved from one pool, both fractions are of the whole pool (defaults: 70/10/20);
  when only validation is carved (the source gave a test split), it is a fraction of
  the given train split;
* then `max_train_examples` subsamples train, `max_eval_examples` validation and
  `max_test_examples` test (unset: the whole test split), each stratified and seeded by
  `split_seed` alone, so the test rows never depend on the training cap, the validation
  cap, the run's seed or anything else a sweep varies.

Stratification apportions each split's size to the classes by largest remainder, with
exact integer arithmetic, so the sizes are the same on every machine. Each class keeps at
least one training example: a class with one example goes to train. Randomness comes
from `random.Random` seeded with a string (hashed with SHA-512 by Python, so it does not
depend on PYTHONHASHSEED): the same `split_seed` gives the same split everywhere.

Texts longer than `16 x data.max_length x 4` characters are cut to that at load (counted
in a warning): the model reads at most `max_length` tokens, a token is rarely more than 16
characters, and the margin of 4 leaves the tokenizer's truncation the last word. Without
the cut one 50 MB line took 82 s and 7 GB to tokenize.

Every example remembers its source row (`TextExamples.rows`: its place in the source's
train, then validation, then test part), and the splits carry a fingerprint of the
source's content. A run's split.json then stores rows instead of texts when the source
can be read again (see `lcl_tui.data.load_splits`); reading it back reads the source and
checks the fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lcl_tui.errors import DataError

log = logging.getLogger("lcl_tui.data")

SPLIT_NAMES = ("train", "validation", "test")
# See the module doc: a text is cut at CHARS_PER_TOKEN x max_length x CUT_MARGIN characters.
CHARS_PER_TOKEN = 16
CUT_MARGIN = 4
FINGERPRINT_VERSION = "lcl-tui source v1"


def max_text_chars(max_length: int) -> int:
    return CHARS_PER_TOKEN * max_length * CUT_MARGIN


@dataclass
class TextExamples:
    texts: list[str]
    labels: list[int]
    # Each example's row in its source (train part, then validation, then test); None when unknown.
    rows: list[int] | None = None

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        if self.rows is not None and len(self.rows) != len(self.labels):
            raise ValueError(f"{len(self.rows)} rows but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> TextExamples:
        rows = [self.rows[i] for i in indices] if self.rows is not None else None
        return TextExamples([self.texts[i] for i in indices], [self.labels[i] for i in indices], rows)

    def label_counts(self, num_labels: int) -> list[int]:
        counts = [0] * num_labels
        for label in self.labels:
            counts[label] += 1
        return counts

    def to_dict(self, by_rows: bool = False) -> dict[str, list]:
        if by_rows and self.rows is not None:
            return {"rows": list(self.rows), "labels": list(self.labels)}
        return {"texts": list(self.texts), "labels": list(self.labels)}


@dataclass
class DatasetSplits:
    name: str
    label_names: list[str]
    train: TextExamples
    validation: TextExamples
    test: TextExamples
    # What loading changed or guessed (rows dropped, a legacy encoding, ...): one line each.
    warnings: list[str] = field(default_factory=list)
    # The source's content hash (`source_fingerprint`), and where to read it again: a
    # file's absolute path or an offline registry name; None for a source that may not
    # read the same later (the hub), whose texts split.json then keeps.
    fingerprint: str | None = None
    reread_from: str | None = None

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def to_dict(self) -> dict[str, Any]:
        by_rows = self.reread_from is not None and self.fingerprint is not None and all(
            part.rows is not None for part in (self.train, self.validation, self.test))
        saved = {
            "name": self.name,
            "label_names": list(self.label_names),
            "train": self.train.to_dict(by_rows),
            "validation": self.validation.to_dict(by_rows),
            "test": self.test.to_dict(by_rows),
            "warnings": list(self.warnings),
        }
        if by_rows:
            saved["source"] = {"dataset": self.reread_from, "fingerprint": self.fingerprint}
        return saved

    @classmethod
    def from_dict(cls, raw: dict, source_texts=None) -> DatasetSplits:
        """Splits as saved. A split.json that stores rows (no texts) needs `source_texts`:
        `source_texts(dataset, fingerprint)` returns every text of the source by row, or
        raises a DataError saying why it cannot (see `lcl_tui.data.splits_from_saved`)."""
        def fail(what: str) -> DataError:
            return DataError(f"saved data split is damaged ({what}); start a new run to make a fresh split")

        if not isinstance(raw, dict):
            raise fail("not a JSON object")
        names = raw.get("label_names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise fail("label_names must be a list of strings")
        source = raw.get("source")
        texts_by_row: list[str] | None = None
        parts = {}
        for split in SPLIT_NAMES:
            part = raw.get(split)
            if not isinstance(part, dict):
                raise fail(f"missing '{split}'")
            texts, rows, labels = part.get("texts"), part.get("rows"), part.get("labels")
            if texts is None and isinstance(rows, list):
                if not isinstance(source, dict) or not all(isinstance(source.get(k), str)
                                                           for k in ("dataset", "fingerprint")):
                    raise fail("rows without a source")
                if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in rows):
                    raise fail(f"'{split}' has a row that is not a whole number")
                if texts_by_row is None:
                    if source_texts is None:
                        raise fail("it names source rows but no source reader was given")
                    texts_by_row = source_texts(source["dataset"], source["fingerprint"])
                if any(r >= len(texts_by_row) for r in rows):
                    raise fail(f"'{split}' has a row past the end of {source['dataset']}")
                texts = [texts_by_row[r] for r in rows]
            if not isinstance(texts, list) or not isinstance(labels, list) or len(texts) != len(labels):
                raise fail(f"'{split}' needs texts and labels of the same length")
            if not all(isinstance(t, str) for t in texts):
                raise fail(f"'{split}' has a text that is not a string")
            if not all(isinstance(y, int) and not isinstance(y, bool) and 0 <= y < len(names) for y in labels):
                raise fail(f"'{split}' has a label outside 0..{len(names) - 1}")
            parts[split] = TextExamples(list(texts), list(labels), list(rows) if texts_by_row is not None else None)
        warnings = raw.get("warnings", [])
        reread = source if texts_by_row is not None else {}
        return cls(
            name=str(raw.get("name", "")),
            label_names=list(names),
            warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [],
            fingerprint=reread.get("fingerprint"),
            reread_from=reread.get("dataset"),
            **parts,
        )


@dataclass
class SourceData:
    """What a loader returns: a train pool and the splits the source itself provides.

    Registered loaders return this (or a finished `DatasetSplits`); `finalize_splits`
    carves the missing splits and applies the size caps.
    """

    name: str
    label_names: list[str]
    train: TextExamples
    validation: TextExamples | None = None
    test: TextExamples | None = None
    warnings: list[str] = field(default_factory=list)


def describe_splits(splits: DatasetSplits) -> str:
    """One line: `trec-6: 6 labels (ABBR, DESC, ...), train 3766 / validation 538 / test 1077`."""
    shown = ", ".join(splits.label_names[:6]) + (", ..." if splits.num_labels > 6 else "")
    return (
        f"{splits.name}: {splits.num_labels} labels ({shown}), train {len(splits.train)} / "
        f"validation {len(splits.validation)} / test {len(splits.test)}"
    )


# --- apportioning -----------------------------------------------------------------------


def apportion(counts: Sequence[int], total: int, caps: Sequence[int]) -> list[int]:
    """Split `total` over classes in proportion to `counts`, none above its cap.

    Largest remainder with exact integers: floors first, then one more each to the classes
    with the largest remainders (ties: bigger class, then lower class id).
    """
    n = sum(counts)
    total = max(0, min(total, sum(caps)))
    if n == 0 or total == 0:
        return [0] * len(counts)
    alloc = [min(c * total // n, cap) for c, cap in zip(counts, caps)]
    order = sorted(range(len(counts)), key=lambda k: (-(counts[k] * total % n), -counts[k], k))
    remaining = total - sum(alloc)
    while remaining > 0:
        for k in order:
            if remaining and alloc[k] < caps[k]:
                alloc[k] += 1
                remaining -= 1
    return alloc


def _by_class(labels: Sequence[int], num_labels: int, rng: random.Random) -> list[list[int]]:
    groups: list[list[int]] = [[] for _ in range(num_labels)]
    for index, label in enumerate(labels):
        groups[label].append(index)
    for group in groups:
        rng.shuffle(group)
    return groups


def stratified_split(
    examples: TextExamples, num_labels: int, fractions: Sequence[float], seed: int
) -> list[TextExamples]:
    """Carve stratified parts of `fractions` of the whole; the rest, returned first, is train.

    `stratified_split(pool, k, [0.2, 0.1], seed)` gives `[train, part_0.2, part_0.1]`.
    Each class keeps at least one example in train.
    """
    rng = random.Random(f"lcl-tui split {seed}")
    groups = _by_class(examples.labels, num_labels, rng)
    counts = [len(g) for g in groups]
    room = [max(c - 1, 0) for c in counts]  # one example of each class stays in train
    parts: list[list[int]] = []
    for fraction in fractions:
        target = math.floor(len(examples) * fraction + 0.5)  # half up, not to even
        alloc = apportion(counts, target, room)
        part = []
        for k, group in enumerate(groups):
            part.extend(group[:alloc[k]])
            del group[:alloc[k]]
            room[k] -= alloc[k]
        parts.append(part)
    train = [i for group in groups for i in group]
    out = []
    for indices in [train, *parts]:
        indices.sort()
        rng.shuffle(indices)
        out.append(examples.subset(indices))
    return out


def stratified_subsample(examples: TextExamples, num_labels: int, size: int | None, seed: int,
                         purpose: str) -> TextExamples:
    """A seeded, stratified subsample of `size` examples; every class kept if size allows."""
    if size is None or size >= len(examples):
        return examples
    return examples.subset(stratified_indices(examples.labels, num_labels, size, seed, purpose))


def stratified_indices(labels: Sequence[int], num_labels: int, size: int, seed: int,
                       purpose: str) -> list[int]:
    """`size` positions of `labels`, seeded and stratified (every class kept if size allows),
    in a seeded shuffled order; the same arguments give the same positions."""
    if size >= len(labels):
        return list(range(len(labels)))
    rng = random.Random(f"lcl-tui subsample {purpose} {seed}")
    groups = _by_class(labels, num_labels, rng)
    counts = [len(g) for g in groups]
    alloc = apportion(counts, size, counts)
    # Give each class left out one example, taken from the class with the most.
    for k in sorted(range(len(counts)), key=lambda k: (-counts[k], k)):
        if counts[k] and not alloc[k]:
            donor = max(range(len(counts)), key=lambda j: (alloc[j], -j))
            if alloc[donor] <= 1:
                break
            alloc[donor] -= 1
            alloc[k] += 1
    indices = sorted(i for k, group in enumerate(groups) for i in group[:alloc[k]])
    rng.shuffle(indices)
    return indices


# --- source rows, fingerprints and long texts ------------------------------------------


def source_parts(source: SourceData | DatasetSplits) -> list[tuple[str, TextExamples]]:
    """The parts a source has, in row order: train, then validation, then test."""
    return [(split, part) for split, part in
            (("train", source.train), ("validation", source.validation), ("test", source.test))
            if part is not None]


def source_fingerprint(source: SourceData | DatasetSplits) -> str:
    """A hash of what a source holds (label names, and each part's texts and labels, in
    order): the same content gives the same fingerprint, whatever file format carried it."""
    digest = hashlib.sha256(FINGERPRINT_VERSION.encode())
    digest.update(repr(list(source.label_names)).encode("utf-8", "surrogatepass"))
    for split, part in source_parts(source):
        digest.update(f"\x1e{split}:{len(part)}".encode())
        for text, label in zip(part.texts, part.labels):
            digest.update(f"\x1f{label}\x1f".encode())
            digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def source_texts(source: SourceData | DatasetSplits) -> list[str]:
    """Every text of a source by row (the numbering `TextExamples.rows` uses)."""
    return [text for _, part in source_parts(source) for text in part.texts]


def number_rows(source: SourceData | DatasetSplits) -> dict[str, TextExamples]:
    """Each source part with its rows numbered (train first, then validation, then test)."""
    numbered, start = {}, 0
    for split, part in source_parts(source):
        numbered[split] = TextExamples(part.texts, part.labels, list(range(start, start + len(part))))
        start += len(part)
    return numbered


def cut_long_texts(texts: list[str], max_length: int) -> tuple[list[str], int]:
    """Texts cut to `max_text_chars(max_length)` characters, and how many were cut."""
    limit = max_text_chars(max_length)
    cut = sum(1 for text in texts if len(text) > limit)
    return ([text[:limit] for text in texts] if cut else texts), cut


def cut_warning(cut: int, max_length: int) -> str:
    return (f"cut {cut} text(s) to their first {max_text_chars(max_length)} characters "
            f"({CHARS_PER_TOKEN} per token x data.max_length {max_length} x {CUT_MARGIN}); the model reads "
            f"at most {max_length} tokens of a text")


# --- from a source to the final splits ----------------------------------------------


def _check_labels(examples: TextExamples, num_labels: int, name: str, split: str) -> None:
    bad = next((y for y in examples.labels if not (isinstance(y, int) and 0 <= y < num_labels)), None)
    if bad is not None:
        raise DataError(f"'{name}' {split} has label id {bad!r} outside 0..{num_labels - 1}; "
                        f"fix the dataset's loader or its labels")


def finalize_splits(source: SourceData | DatasetSplits, config) -> DatasetSplits:
    """Carve missing splits, check the classes, apply the size caps (see the module doc)."""
    name, names = source.name, list(source.label_names)
    warnings = list(source.warnings)
    for split, part in source_parts(source):
        _check_labels(part, len(names), name, split)
    fingerprint = source_fingerprint(source)
    numbered = number_rows(source)
    cut_total = 0
    for split, part in numbered.items():
        part.texts, cut = cut_long_texts(part.texts, config.max_length)
        cut_total += cut
    if cut_total:
        warnings.append(cut_warning(cut_total, config.max_length))
    train, validation, test = numbered["train"], numbered.get("validation"), numbered.get("test")
    if len(train) == 0:
        raise DataError(f"'{name}' has no training examples; give a dataset with labelled rows")
    seen = sorted(set(train.labels))
    if len(seen) < 2:
        only = names[seen[0]] if seen else "none"
        raise DataError(f"'{name}' has only one class ('{only}') in its training data; need at least "
                        f"2 classes (check data.label_column)")
    seed = config.split_seed
    if test is None and validation is None:
        train, test, validation = stratified_split(
            train, len(names), [config.test_fraction, config.validation_fraction], seed)
    elif test is None:
        train, test = stratified_split(train, len(names), [config.test_fraction], seed)
    elif validation is None:
        train, validation = stratified_split(train, len(names), [config.validation_fraction], seed)
    if len(test) == 0:
        pool = len(train) + len(validation)
        if len(names) * 2 > pool >= 10:
            # Most classes have one example: usually data.label_column names a text column.
            raise DataError(f"'{name}' has {len(names)} classes in {pool} examples, most with a single "
                            f"example; check that data.label_column names the label column")
        raise DataError(f"'{name}' has too few examples ({len(train) + len(validation)}) to hold out a "
                        f"test split; add more rows or give a folder with a test file")
    if len(validation) == 0 and config.validation_fraction > 0:
        warnings.append(f"'{name}' is too small for a validation split; validation is empty")
    train = stratified_subsample(train, len(names), config.max_train_examples, seed, "train")
    validation = stratified_subsample(validation, len(names), config.max_eval_examples, seed, "validation")
    test = stratified_subsample(test, len(names), config.max_test_examples, seed, "test")
    for message in warnings:
        log.warning(message)
    return DatasetSplits(name=name, label_names=names, train=train, validation=validation,
                         test=test, warnings=warnings, fingerprint=fingerprint)
