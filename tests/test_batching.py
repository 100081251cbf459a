import random
from collections import Counter

from lcl_tui.batching import (
    EncodedTexts,
    class_aware_batches,
    class_aware_grouped_batches,
    collate,
    length_grouped_batches,
    random_batches,
)


def test_collate_pads_to_the_longest_in_the_batch_only():
    encoded = EncodedTexts(input_ids=[[2, 5, 3], [2, 6, 7, 8, 9, 3], [2, 3]],
                           special_tokens_mask=[[1, 0, 1], [1, 0, 0, 0, 0, 1], [1, 1]],
                           token_type_ids=None, labels=[0, 1, 0], pad_token_id=0)
    batch = collate(encoded, [0, 2])
    assert batch["input_ids"].tolist() == [[2, 5, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["special_tokens_mask"].tolist() == [[1, 0, 1], [1, 1, 1]]
    two_views = collate(encoded, [1, 0], views=2)
    assert two_views["input_ids"].shape == (4, 6)
    assert two_views["labels"].tolist() == [1, 0, 1, 0]


def test_random_and_length_grouped_batches_cover_each_example_once():
    rng = random.Random(0)
    lengths = [rng.randint(3, 60) for _ in range(1000)]
    for batches in (random_batches(1000, 32, rng), length_grouped_batches(lengths, 32, rng)):
        flat = [i for batch in batches for i in batch]
        assert sorted(flat) == list(range(1000))
        assert all(len(b) <= 32 for b in batches)
    grouped = length_grouped_batches(lengths, 32, random.Random(1))
    # Grouping by length means far less padding than random batching.
    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    assert padding(grouped) < padding(random_batches(1000, 32, random.Random(1))) / 3


def test_class_aware_batches_give_every_anchor_a_positive():
    rng = random.Random(0)
    labels = [rng.randrange(32) for _ in range(2000)]
    batches = class_aware_batches(labels, batch_size=32, per_class=4, rng=random.Random(3))
    with_positive = total = 0
    for batch in batches:
        counts = Counter(labels[i] for i in batch)
        total += len(batch)
        with_positive += sum(c for c in counts.values() if c >= 2)
        assert len(batch) <= 32 and len(set(batch)) == len(batch)
    assert with_positive / total > 0.95
    # Every example once an epoch (a few topped-up short chunks repeat some).
    assert {i for batch in batches for i in batch} == set(range(2000))
    assert total < 2000 * 1.1 and len(batches) < 2000 / 32 * 1.1


def test_class_aware_batches_keep_the_class_mix_to_the_end_of_the_epoch():
    # movie-snippets-5 proportions: two large classes, three small ones.
    labels = [0] * 100 + [1] * 370 + [2] * 100 + [3] * 370 + [4] * 100
    batches = class_aware_batches(labels, batch_size=32, per_class=4, rng=random.Random(0))
    tail = [labels[i] for batch in batches[-4:] for i in batch]
    share = Counter(tail)
    # The tail holds every class, none dominates (the whole epoch: 10/36/10/36/10 %).
    assert set(share) == {0, 1, 2, 3, 4}
    assert max(share.values()) / len(tail) < 0.6
    for batch in batches:
        assert len({labels[i] for i in batch}) >= 3


def test_class_aware_batches_survive_tiny_classes():
    labels = [0] * 50 + [1] + [2] * 3
    batches = class_aware_batches(labels, batch_size=8, per_class=4, rng=random.Random(0))
    assert all(batches) and all(len(set(b)) == len(b) for b in batches)
    assert {i for b in batches for i in b} == set(range(len(labels)))


def padding(batches, lengths) -> int:
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


def test_class_aware_grouped_batches_pad_far_less_and_keep_positives_and_the_class_spread():
    rng = random.Random(0)
    labels = [0] * 100 + [1] * 370 + [2] * 100 + [3] * 370 + [4] * 100
    lengths = [rng.randint(4, 60) for _ in labels]
    grouped = class_aware_grouped_batches(labels, lengths, batch_size=32, per_class=4, rng=random.Random(1))
    plain = class_aware_batches(labels, batch_size=32, per_class=4, rng=random.Random(1))
    assert padding(grouped, lengths) < padding(plain, lengths) / 2.5
    assert {i for b in grouped for i in b} == set(range(len(labels)))
    assert sum(map(len, grouped)) < len(labels) * 1.05 and all(len(b) <= 32 for b in grouped)
    for batch in grouped:
        counts = Counter(labels[i] for i in batch)
        assert all(c >= 2 for c in counts.values()), counts  # every anchor has a positive
    # Each batch keeps the class mix the plain sampler gives, not one left to chance.
    def mean_max_share(batches):
        return sum(max(Counter(labels[i] for i in b).values()) / len(b) for b in batches) / len(batches)

    assert mean_max_share(grouped) < mean_max_share(plain) + 0.03
    # Every class in every quarter of the epoch, not bunched by length or class.
    quarter = len(grouped) // 4
    for part in range(4):
        seen = {labels[i] for b in grouped[part * quarter:(part + 1) * quarter] for i in b}
        assert seen == {0, 1, 2, 3, 4}


def test_class_aware_grouped_batches_are_seeded_and_survive_tiny_classes():
    labels = [0] * 50 + [1] + [2] * 3
    lengths = list(range(len(labels)))
    first = class_aware_grouped_batches(labels, lengths, 8, 4, random.Random(5))
    assert first == class_aware_grouped_batches(labels, lengths, 8, 4, random.Random(5))
    assert first != class_aware_grouped_batches(labels, lengths, 8, 4, random.Random(6))
    assert {i for b in first for i in b} == set(range(len(labels)))
