"""What a run trains on: its data split, encoded, and its model and tokenizer, either built
fresh from the config or loaded from the checkpoint it resumes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcl_tui.batching import EncodedTexts, encode_texts
from lcl_tui.config import RunConfig
from lcl_tui.devices import Placement
from lcl_tui.dropout import torch_masks_are_fast, use_fast_attention_dropout, use_fast_dropout
from lcl_tui.errors import ConfigError, UserError
from lcl_tui.models import (
    TextClassifier,
    TransformerBackbone,
    build_model,
    load_checkpoint,
    load_tokenizer,
    max_input_tokens,
)
from lcl_tui.runstore import Run


@dataclass
class RunInputs:
    splits: Any  # lcl_tui.data.DatasetSplits
    label_names: list[str]
    model: TextClassifier
    tokenizer: Any
    train_data: EncodedTexts
    validation_data: EncodedTexts
    test_data: EncodedTexts


def load_inputs(config: RunConfig, placement: Placement, resume_from: Path | None = None,
                run: Run | None = None) -> RunInputs:
    """Raises UserError for what the user can fix (data, model, max length)."""
    if resume_from is not None:
        # The same split as before, never a fresh draw, and the checkpoint's weights.
        assert run is not None
        splits = run.load_split()
        model, tokenizer, _ = load_checkpoint(resume_from, device=str(placement.device))
        model.train()
    else:
        splits, model, tokenizer = build_fresh(config, placement)
    if not torch_masks_are_fast(placement.device):
        use_fast_dropout(model)
        use_fast_attention_dropout(model)
    max_length = config.data.max_length

    def encoded(split: Any) -> EncodedTexts:
        return encode_texts(tokenizer, split.texts, split.labels, max_length)

    return RunInputs(splits=splits, label_names=list(splits.label_names), model=model, tokenizer=tokenizer,
                     train_data=encoded(splits.train), validation_data=encoded(splits.validation),
                     test_data=encoded(splits.test))


def build_fresh(config: RunConfig, placement: Placement) -> tuple[Any, TextClassifier, Any]:
    from lcl_tui.data import load_splits

    splits = load_splits(config.data)
    if len(splits.train) == 0:
        raise UserError("the training split is empty; use more data or a smaller data.test_fraction")
    label_names = list(splits.label_names)
    if config.model.architecture == "transformer":
        tokenizer = load_tokenizer(config.model.name, config.model.trust_remote_code)
    else:
        from lcl_tui.rnn import VocabularyTokenizer

        tokenizer = VocabularyTokenizer.build(splits.train.texts, config.model.vocab_size)
    model = build_model(config.model, len(label_names), config.loss.objective, tokenizer, label_names)
    model.to(placement.device)
    check_max_length(config, model, tokenizer)
    return splits, model, tokenizer


def check_max_length(config: RunConfig, model: TextClassifier, tokenizer: Any) -> None:
    backbone = model.backbone
    if not isinstance(backbone, TransformerBackbone):
        return
    limit = max_input_tokens(backbone.encoder, tokenizer)
    wanted = config.data.max_length
    if limit is not None and wanted > limit:
        raise ConfigError(
            f"data.max_length={wanted} is more than model '{config.model.name}' takes "
            f"({limit} tokens); set data.max_length={limit} or less"
        )
