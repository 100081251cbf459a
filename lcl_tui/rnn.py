"""The paper's RNN and GRU baselines, with its preprocessing and a vocabulary tokenizer.

Preprocessing as the seed paper (after Made With ML): lower-case, drop stop words, keep
only letters, digits and spaces. The tokenizer is built from the training texts and
speaks the same interface as a Hugging Face tokenizer, so the trainer treats both alike.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lcl_tui.config import ModelConfig

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself nor of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will
    with you your yours yourself yourselves s t can don now""".split()
)
_FILTER = re.compile(r"[^a-z0-9\s]+")
_SPACES = re.compile(r"\s+")
PAD, UNK = "[PAD]", "[UNK]"
VOCAB_FILE = "vocab.json"


def preprocess(text: str) -> list[str]:
    text = _FILTER.sub(" ", text.lower())
    return [word for word in _SPACES.split(text) if word and word not in STOP_WORDS]


class VocabularyTokenizer:
    """Words to ids, by frequency in the training data; [PAD] is 0, [UNK] is 1."""

    pad_token_id = 0
    unk_token_id = 1

    def __init__(self, vocabulary: Sequence[str]):
        self.vocabulary = list(vocabulary)
        self.index = {word: i for i, word in enumerate(self.vocabulary)}

    @classmethod
    def build(cls, texts: Sequence[str], max_size: int) -> VocabularyTokenizer:
        counts = Counter(word for text in texts for word in preprocess(text))
        words = [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
        return cls([PAD, UNK, *words[: max(0, max_size - 2)]])

    def __len__(self) -> int:
        return len(self.vocabulary)

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        ids = [self.index.get(word, self.unk_token_id) for word in preprocess(text)] or [self.unk_token_id]
        return ids[:max_length] if max_length else ids

    def __call__(self, texts: Sequence[str], truncation: bool = True, max_length: int | None = None,
                 padding: bool = False, return_special_tokens_mask: bool = False) -> dict[str, Any]:
        ids = [self.encode(text, max_length if truncation else None) for text in texts]
        encoded: dict[str, Any] = {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}
        if return_special_tokens_mask:
            encoded["special_tokens_mask"] = [[0] * len(row) for row in ids]
        return encoded

    def save_pretrained(self, folder: Path) -> None:
        Path(folder, VOCAB_FILE).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def from_pretrained(cls, folder: Path) -> VocabularyTokenizer:
        return cls(json.loads(Path(folder, VOCAB_FILE).read_text(encoding="utf-8")))


class RecurrentBackbone(nn.Module):
    """Embedding -> RNN or GRU; the text's vector is the hidden state at its last token."""

    def __init__(self, cell: str, vocab_size: int, embedding_dim: int, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        recurrent = nn.GRU if cell == "gru" else nn.RNN
        self.rnn = recurrent(embedding_dim, hidden_size, batch_first=True)
        self._hidden_size = hidden_size

    @property
    def hidden_size(self) -> int:
        return self._hidden_size

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        lengths = batch["attention_mask"].sum(dim=1).clamp(min=1)
        embedded = self.embedding(batch["input_ids"])
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, hidden = self.rnn(packed)
        return hidden[-1]


def build_rnn_backbone(config: ModelConfig, tokenizer: VocabularyTokenizer) -> RecurrentBackbone:
    return RecurrentBackbone(config.architecture, len(tokenizer), config.embedding_dim, config.hidden_size)
