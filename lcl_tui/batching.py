"""Batches: texts tokenised once, padded per batch, grouped by length or by class.

Short texts padded to the longest in their batch (not to max_length) train several times
faster; a class-aware batch holds k >= 2 examples of each class it draws, so every anchor
of a contrastive loss has positives.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class EncodedTexts:
    """Token ids of each text, unpadded."""

    input_ids: list[list[int]]
    special_tokens_mask: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: list[int]
    pad_token_id: int

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def encode_texts(tokenizer: Any, texts: Sequence[str], labels: Sequence[int], max_length: int) -> EncodedTexts:
    encoded = tokenizer(
        list(texts), truncation=True, max_length=max_length, padding=False,
        return_special_tokens_mask=True,
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return EncodedTexts(
        input_ids=list(encoded["input_ids"]),
        special_tokens_mask=list(encoded["special_tokens_mask"]),
        token_type_ids=list(encoded["token_type_ids"]) if "token_type_ids" in encoded else None,
        labels=list(labels),
        pad_token_id=pad,
    )


def collate(encoded: EncodedTexts, indices: Sequence[int], views: int = 1) -> dict[str, torch.Tensor]:
    """Pad the chosen texts to the longest of them; `views=2` repeats the batch (two dropout views)."""
    rows = list(indices) * views
    width = max(len(encoded.input_ids[i]) for i in rows)
    size = len(rows)
    input_ids = torch.full((size, width), encoded.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((size, width), dtype=torch.long)
    special = torch.ones((size, width), dtype=torch.long)
    token_types = torch.zeros((size, width), dtype=torch.long) if encoded.token_type_ids is not None else None
    for row, index in enumerate(rows):
        ids = encoded.input_ids[index]
        n = len(ids)
        input_ids[row, :n] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, :n] = 1
        special[row, :n] = torch.tensor(encoded.special_tokens_mask[index], dtype=torch.long)
        if token_types is not None:
            token_types[row, :n] = torch.tensor(encoded.token_type_ids[index], dtype=torch.long)
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "special_tokens_mask": special,
        "labels": torch.tensor([encoded.labels[i] for i in rows], dtype=torch.long),
    }
    if token_types is not None:
        batch["token_type_ids"] = token_types
    return batch


def random_batches(size: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    order = list(range(size))
    rng.shuffle(order)
    return [order[i:i + batch_size] for i in range(0, size, batch_size)]


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: random.Random,
                           group_batches: int = 50) -> list[list[int]]:
    """Shuffle, sort within large groups by length, cut into batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    group = batch_size * group_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start:start + group], key=lambda i: lengths[i])
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def class_aware_batches(labels: Sequence[int], batch_size: int, per_class: int,
                        rng: random.Random) -> list[list[int]]:
    """Batches of `per_class` examples from each of batch_size // per_class drawn classes.

    Classes are drawn in proportion to what they have left this epoch, so an epoch sees
    each example about once and keeps the data's class balance. A class with fewer than
    `per_class` examples left is topped up from its already used examples.
    """
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    remaining = {label: rng.sample(indices, len(indices)) for label, indices in by_class.items()}
    total_batches = math.ceil(len(labels) / batch_size)
    classes_per_batch = max(1, batch_size // per_class)
    batches: list[list[int]] = []
    for _ in range(total_batches):
        batch: list[int] = []
        candidates = [label for label, left in remaining.items() if left]
        if not candidates:
            remaining = {label: rng.sample(ix, len(ix)) for label, ix in by_class.items()}
            candidates = list(remaining)
        drawn: list[int] = []
        pool = list(candidates)
        while pool and len(drawn) < classes_per_batch:
            weights = [len(remaining[label]) for label in pool]
            label = rng.choices(pool, weights=weights)[0]
            pool.remove(label)
            drawn.append(label)
        for label in drawn:
            take = remaining[label][:per_class]
            remaining[label] = remaining[label][per_class:]
            if len(take) < per_class and len(by_class[label]) > len(take):
                spare = [i for i in by_class[label] if i not in take]
                take += rng.sample(spare, min(per_class - len(take), len(spare)))
            batch.extend(take)
        # Fill what the drawn classes could not from any class with examples left.
        leftovers = [i for label in remaining if label not in drawn for i in remaining[label]]
        fill = batch_size - len(batch)
        if fill > 0 and leftovers:
            extra = rng.sample(leftovers, min(fill, len(leftovers)))
            extra_set = set(extra)
            for label in remaining:
                remaining[label] = [i for i in remaining[label] if i not in extra_set]
            batch.extend(extra)
        batches.append(batch)
    return batches


def epoch_batches(encoded: EncodedTexts, batch_size: int, sampler: str, per_class: int,
                  rng: random.Random) -> list[list[int]]:
    if sampler == "class-aware":
        return class_aware_batches(encoded.labels, batch_size, per_class, rng)
    if sampler == "length-grouped":
        return length_grouped_batches(encoded.lengths, batch_size, rng)
    return random_batches(len(encoded), batch_size, rng)


def sequential_batches(encoded: EncodedTexts, batch_size: int) -> Iterator[list[int]]:
    """Evaluation order: sorted by length for speed; callers map results back by index."""
    order = sorted(range(len(encoded)), key=lambda i: encoded.lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]
