"""Tiny, fast stand-ins for tests and benchmarks: a random-weight BERT and a synthetic task.

Nothing here downloads: the tokenizer is built from a vocabulary written on the spot.
"""

from __future__ import annotations

import csv
import inspect
import random
from pathlib import Path
from typing import Any

from lcl_tui.config import RunConfig, apply_overrides

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
FILLER = ["the", "a", "this", "that", "it", "was", "is", "very", "quite", "so", "and", "but",
          "movie", "film", "story", "day", "thing", "really", "just", "one", "of", "in", "on"]
# Four classes, each told by its own cue words; the synthetic task is to find the cue.
CLASS_CUES = {
    "joy": ["happy", "joyful", "glad", "delighted"],
    "anger": ["angry", "furious", "mad", "irritated"],
    "fear": ["afraid", "scared", "terrified", "nervous"],
    "sadness": ["sad", "unhappy", "gloomy", "miserable"],
}


def tiny_vocabulary() -> list[str]:
    words = sorted({*FILLER, *(w for cues in CLASS_CUES.values() for w in cues)})
    return SPECIAL_TOKENS + words


def write_tiny_model(folder: Path, hidden_size: int = 32, layers: int = 2, seed: int = 0,
                     dropout: float = 0.1) -> Path:
    """A random-weight BERT with its tokenizer, saved as a Hugging Face folder.

    `dropout=0` makes training a function of the data order alone (no random masks).
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(tiny_vocabulary()) + "\n", encoding="utf-8")
    # transformers 5 builds the tokenizer from a dict; 4.x reads the vocab file.
    if "vocab" in inspect.signature(BertTokenizer.__init__).parameters:
        vocabulary = {word: i for i, word in enumerate(tiny_vocabulary())}
        tokenizer = BertTokenizer(vocab=vocabulary, do_lower_case=True)
    else:
        tokenizer = BertTokenizer(vocab_file=str(vocab_file), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(tiny_vocabulary()), hidden_size=hidden_size, num_hidden_layers=layers,
        num_attention_heads=2, intermediate_size=hidden_size * 2, max_position_embeddings=64,
        pad_token_id=0, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def synthetic_rows(count: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    labels = list(CLASS_CUES)
    rows = []
    for i in range(count):
        label = labels[i % len(labels)]
        words = rng.choices(FILLER, k=rng.randint(3, 8))
        words.insert(rng.randint(0, len(words)), rng.choice(CLASS_CUES[label]))
        rows.append((" ".join(words), label))
    rng.shuffle(rows)
    return rows


def write_synthetic_csv(path: Path, count: int = 240, seed: int = 0) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(synthetic_rows(count, seed))
    return path


def tiny_config(tmp_path: Path, **overrides: Any) -> RunConfig:
    """A config that trains the tiny model on the synthetic task in seconds on a CPU.

    `overrides` use `section__key` names (`loss__objective="ce"`) or `section.key` via a dict.
    """
    tmp_path = Path(tmp_path)
    model = tmp_path / "tiny-bert"
    if not (model / "config.json").is_file():
        write_tiny_model(model)
    data = tmp_path / "synthetic.csv"
    if not data.is_file():
        write_synthetic_csv(data)
    base = {
        "name": "tiny",
        "data.dataset": str(data),
        "data.max_length": 16,
        "data.validation_fraction": 0.2,
        "data.test_fraction": 0.2,
        "model.name": str(model),
        # A random-weight encoder's [CLS] vectors start near-identical; the mean breaks the tie.
        "model.pooling": "mean",
        "optim.stage2_lr": 1e-2,
        "train.stage2_epochs": 5,
        "loss.objective": "lcl",
        "optim.lr": 3e-3,
        "optim.warmup_ratio": 0.0,
        "train.epochs": 6,
        "train.batch_size": 16,
        "train.examples_per_class": 4,
        "train.eval_batch_size": 64,
        "train.device": "cpu",
        # Full precision: tests compare numbers to 1e-6 and must not depend on the CPU's flags.
        "train.mixed_precision": "no",
        "output.runs_dir": str(tmp_path / "runs"),
    }
    base.update({key.replace("__", "."): value for key, value in overrides.items()})
    return apply_overrides(RunConfig(), base)
