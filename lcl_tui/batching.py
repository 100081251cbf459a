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

    def lengths_of(self, rows: Sequence[int]) -> list[int]:
        return [len(self.input_ids[row]) for row in rows]

    def subset(self, rows: Sequence[int]) -> EncodedTexts:
        """The chosen rows, in that order."""
        return EncodedTexts(
            input_ids=[self.input_ids[row] for row in rows],
            special_tokens_mask=[self.special_tokens_mask[row] for row in rows],
            token_type_ids=None if self.token_type_ids is None else [self.token_type_ids[row] for row in rows],
            labels=[self.labels[row] for row in rows],
            pad_token_id=self.pad_token_id,
        )


def encode_texts(tokenizer: Any, texts: Sequence[str], labels: Sequence[int], max_length: int) -> EncodedTexts:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if not texts:  # an empty split (data.validation_fraction=0): fast tokenizers fail on no texts
        return EncodedTexts(input_ids=[], special_tokens_mask=[], token_type_ids=None, labels=[], pad_token_id=pad)
    encoded = tokenizer(
        list(texts), truncation=True, max_length=max_length, padding=False,
        return_special_tokens_mask=True,
    )
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
    """Batches made of chunks of `per_class` examples of one class each.

    Each class's shuffled examples are cut into chunks, and each class's chunks are spread
    evenly over the epoch (chunk j of n sits at a random point in [j/n, (j+1)/n)). So
    every batch mixes classes in the data's proportions, from the first batch to the last:
    an epoch whose tail were all one class would drag the heads towards that class. Each
    example comes once an epoch; a class's last, short chunk is topped up from its other
    examples so that its anchors have positives too.
    """
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    keyed_chunks: list[tuple[float, list[int]]] = []
    for label in sorted(by_class):
        chunks = _chunks(rng.sample(by_class[label], len(by_class[label])), per_class, rng)
        for j, chunk in enumerate(chunks):
            keyed_chunks.append(((j + rng.random()) / len(chunks), chunk))
    keyed_chunks.sort(key=lambda item: item[0])
    return _pack([chunk for _, chunk in keyed_chunks], batch_size)


def _chunks(members: list[int], per_class: int, rng: random.Random) -> list[list[int]]:
    """One class's examples cut into chunks of `per_class`; a short last chunk is topped up
    from the class's other examples so that its anchors have positives too."""
    chunks = [members[i:i + per_class] for i in range(0, len(members), per_class)]
    last = chunks[-1]
    if len(last) < per_class and len(members) > len(last):
        others = [i for i in members if i not in last]
        last.extend(rng.sample(others, min(per_class - len(last), len(others))))
    return chunks


def _pack(chunks: Sequence[list[int]], batch_size: int) -> list[list[int]]:
    """Chunks into batches, in order, a chunk never split across two batches."""
    batches: list[list[int]] = []
    batch: list[int] = []
    for chunk in chunks:
        if batch and len(batch) + len(chunk) > batch_size:
            batches.append(batch)
            batch = []
        batch.extend(chunk)
    if batch:
        batches.append(batch)
    return batches


def class_aware_grouped_batches(labels: Sequence[int], lengths: Sequence[int], batch_size: int,
                                per_class: int, rng: random.Random,
                                window_batches: int = 16) -> list[list[int]]:
    """Class-aware batches of similar lengths: far less padding, the same class mix.

    Chunks are made as in `class_aware_batches`, but from each class's examples sorted by
    length within groups (so a chunk's texts are alike in length), and spread over the
    epoch the same way. Then, window by window (`window_batches` batches' worth of chunks
    in epoch order), each class's chunks are sorted by length and dealt out by quantile:
    the shortest fifth of every class's chunks goes to the shortest fifth of the batches,
    and so on. Each batch so holds every class in its share of the window, all of about
    one length; sorting all chunks together instead would leave the class mix to chance.
    """
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    keyed_chunks: list[tuple[float, int, list[int]]] = []
    group = per_class * 8
    for label in sorted(by_class):
        shuffled = rng.sample(by_class[label], len(by_class[label]))
        members = [i for start in range(0, len(shuffled), group)
                   for i in sorted(shuffled[start:start + group], key=lambda i: lengths[i])]
        chunks = _chunks(members, per_class, rng)
        chunks = rng.sample(chunks, len(chunks))  # length order within a class is not epoch order
        for j, chunk in enumerate(chunks):
            keyed_chunks.append(((j + rng.random()) / len(chunks), label, chunk))
    keyed_chunks.sort(key=lambda item: item[0])

    def longest(chunk: list[int]) -> int:
        return max(lengths[i] for i in chunk)

    chunks_per_window = max(1, window_batches * batch_size // per_class)
    batches: list[list[int]] = []
    for start in range(0, len(keyed_chunks), chunks_per_window):
        window = keyed_chunks[start:start + chunks_per_window]
        slots: list[list[list[int]]] = [[] for _ in range(-(-sum(len(c) for _, _, c in window) // batch_size))]
        window_by_class: dict[int, list[list[int]]] = {}
        for _, label, chunk in window:
            window_by_class.setdefault(label, []).append(chunk)
        for class_chunks in window_by_class.values():
            class_chunks.sort(key=longest)
            for j, chunk in enumerate(class_chunks):
                slots[j * len(slots) // len(class_chunks)].append(chunk)
        # Rounding can overfill a slot: what does not fit moves on to the next (longer) one.
        packed: list[list[int]] = []
        carry: list[list[int]] = []
        for slot in slots:
            batch, carry = _fill(sorted(carry + slot, key=longest), batch_size)
            packed.append(batch)
        while carry:
            batch, carry = _fill(carry, batch_size)
            packed.append(batch)
        rng.shuffle(packed)
        batches.extend(b for b in packed if b)
    return batches


def _fill(chunks: list[list[int]], batch_size: int) -> tuple[list[int], list[list[int]]]:
    """One batch of the chunks that fit, in order (at least one chunk), and the rest."""
    batch: list[int] = []
    rest: list[list[int]] = []
    for chunk in chunks:
        if not batch or len(batch) + len(chunk) <= batch_size:
            batch.extend(chunk)
        else:
            rest.append(chunk)
    return batch, rest


def epoch_batches(encoded: EncodedTexts, batch_size: int, sampler: str, per_class: int,
                  rng: random.Random) -> list[list[int]]:
    if sampler == "class-aware":
        return class_aware_batches(encoded.labels, batch_size, per_class, rng)
    if sampler == "class-aware-grouped":
        return class_aware_grouped_batches(encoded.labels, encoded.lengths, batch_size, per_class, rng)
    if sampler == "length-grouped":
        return length_grouped_batches(encoded.lengths, batch_size, rng)
    return random_batches(len(encoded), batch_size, rng)


def sequential_batches(encoded: EncodedTexts, batch_size: int) -> Iterator[list[int]]:
    """Evaluation order: sorted by length for speed; callers map results back by index."""
    order = sorted(range(len(encoded)), key=lambda i: encoded.lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def length_buckets(lengths: Sequence[int], bucket_cost: int) -> list[list[int]]:
    """Positions 0..n-1 of one batch, cut into runs of like length that cost the least.

    Each bucket is padded only to its own longest text, so a batch of mixed lengths (as a
    class-aware batch is) computes far fewer padded tokens. A bucket costs its rows times
    its longest length, plus `bucket_cost` tokens' worth of fixed cost per encoder call; the
    cheapest cut of the length-sorted rows is found exactly (O(n^2) for n rows).
    """
    order = sorted(range(len(lengths)), key=lambda position: lengths[position])
    sorted_lengths = [lengths[position] for position in order]
    n = len(order)
    cheapest = [0.0] + [math.inf] * n  # cheapest[j]: the best cost of the j shortest rows
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = sorted_lengths[end - 1]
        for start in range(end):
            cost = cheapest[start] + (end - start) * longest + bucket_cost
            if cost < cheapest[end]:
                cheapest[end], cut[end] = cost, start
    buckets: list[list[int]] = []
    end = n
    while end > 0:
        buckets.append(order[cut[end]:end])
        end = cut[end]
    return buckets[::-1]
