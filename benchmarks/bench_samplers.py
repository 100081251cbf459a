"""What each batch sampler costs in padding and gives in class mix, on the packaged data.

No model runs: the texts are tokenised with the packaged MiniLM tokenizer and every
sampler cuts one epoch of the training split into batches. Per sampler it prints:

* padding: the share of the padded batch tensors that is padding (lower is faster);
* tokens/batch: the mean padded size, batch x longest text (time per step follows it);
* classes/batch and anchors with a positive (what contrastive losses need);
* tail max share: the largest one-class share in the epoch's last 4 batches.

    .venv/bin/python benchmarks/bench_samplers.py [--rows 1500] [--batch 32] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SAMPLERS = ("random", "length-grouped", "class-aware", "class-aware-grouped")


def load_train(dataset: str, rows: int, max_length: int):
    from lcl_tui.batching import encode_texts
    from lcl_tui.config import RunConfig, apply_overrides
    from lcl_tui.data import load_splits
    from lcl_tui.models import load_tokenizer

    config = apply_overrides(RunConfig(), {"data.dataset": dataset, "data.max_train_examples": rows,
                                           "data.max_length": max_length})
    splits = load_splits(config.data)
    tokenizer = load_tokenizer(config.model.name)
    return encode_texts(tokenizer, splits.train.texts, splits.train.labels, max_length)


def figures(encoded, sampler: str, batch_size: int, per_class: int, seed: int) -> dict[str, float]:
    from lcl_tui.batching import epoch_batches

    batches = epoch_batches(encoded, batch_size, sampler, per_class, random.Random(seed))
    lengths, labels = encoded.lengths, encoded.labels
    padded = [max(lengths[i] for i in b) * len(b) for b in batches]
    real = [sum(lengths[i] for i in b) for b in batches]
    with_positive = total = 0
    for batch in batches:
        counts = Counter(labels[i] for i in batch)
        with_positive += sum(c for c in counts.values() if c >= 2)
        total += len(batch)
    tail = Counter(labels[i] for b in batches[-4:] for i in b)
    return {
        "padding": 1 - sum(real) / sum(padded),
        "tokens/batch": statistics.fmean(padded),
        "classes/batch": statistics.fmean(len({labels[i] for i in b}) for b in batches),
        "with positive": with_positive / total,
        "tail max share": max(tail.values()) / sum(tail.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from lcl_tui.quiet import quiet_libraries

    quiet_libraries()
    print(f"one epoch of {args.rows} training rows, batch {args.batch}, {args.per_class} per class, "
          f"max length {args.max_length}, seed {args.seed}")
    for dataset in ("movie-snippets-5", "trec-50"):
        encoded = load_train(dataset, args.rows, args.max_length)
        print(f"\n{dataset}: mean text {statistics.fmean(encoded.lengths):.1f} tokens")
        print(f"  {'sampler':<22}{'padding':>9}{'tokens/batch':>14}{'classes/batch':>15}"
              f"{'with positive':>15}{'tail max share':>16}")
        for sampler in SAMPLERS:
            f = figures(encoded, sampler, args.batch, args.per_class, args.seed)
            print(f"  {sampler:<22}{f['padding']:>9.1%}{f['tokens/batch']:>14.0f}{f['classes/batch']:>15.1f}"
                  f"{f['with positive']:>15.1%}{f['tail max share']:>16.1%}")


if __name__ == "__main__":
    main()
