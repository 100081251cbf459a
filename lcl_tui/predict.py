"""Classify new texts with a saved checkpoint (a run's best, or any checkpoint folder)."""

from __future__ import annotations

from pathlib import Path

import torch

from lcl_tui.batching import collate, encode_texts
from lcl_tui.errors import ModelError, UserError
from lcl_tui.models import CHECKPOINT_META, WEIGHTING_DIR, load_checkpoint, read_checkpoint_meta
from lcl_tui.runstore import Run

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")


def check_loadable(folder: Path, meta: dict, trust_remote_code: bool) -> None:
    """Refuse, before anything is loaded, what would unpickle or run code from the folder."""
    if not isinstance(meta, dict) or not isinstance(meta.get("model", {}), dict):
        raise ModelError(f"{folder / CHECKPOINT_META} is damaged; use another checkpoint of the run")
    model = meta.get("model") or {}
    if model.get("trust_remote_code") and not trust_remote_code:
        raise ModelError(f"checkpoint {folder} runs its own model code (trust_remote_code); if you trust "
                         "it, pass --trust-remote-code")
    folders = [folder]
    if meta.get("weighting") == "separate" and model.get("architecture", "transformer") == "transformer":
        folders.append(folder / WEIGHTING_DIR)
    for weights in folders:
        if not any((weights / name).is_file() for name in SAFE_WEIGHTS):
            raise ModelError(f"checkpoint {weights} has no safetensors weights (model.safetensors); lcl-tui "
                             "loads safetensors only: use another checkpoint of the run")


class Predictor:
    def __init__(self, model, tokenizer, meta: dict, folder: Path, device: str = "cpu"):
        self.model = model
        self.tokenizer = tokenizer
        self.meta = meta
        self.folder = folder
        self.device = device
        self.label_names: list[str] = list(meta["label_names"])
        self.max_length: int = int(meta.get("max_length", 128))

    @classmethod
    def from_checkpoint(cls, folder: Path, device: str = "cpu", trust_remote_code: bool = False) -> Predictor:
        folder = Path(folder)
        check_loadable(folder, read_checkpoint_meta(folder), trust_remote_code)
        try:
            model, tokenizer, meta = load_checkpoint(folder, device=device)
        except UserError:
            raise
        except Exception as error:  # a truncated or edited file: one line, not a traceback
            detail = " ".join(str(error).split())[:160] or type(error).__name__
            raise ModelError(f"checkpoint {folder} is damaged ({detail}); use another checkpoint "
                             "of the run") from None
        return cls(model, tokenizer, meta, folder, device)

    @classmethod
    def from_run(cls, run: Run, device: str = "cpu", trust_remote_code: bool = False) -> Predictor:
        folder = run.best_checkpoint
        if folder is None:
            raise UserError(f"run {run.run_id} has no checkpoint yet; wait for its first evaluation")
        return cls.from_checkpoint(folder, device, trust_remote_code)

    @torch.no_grad()
    def probabilities(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        if not texts:
            return torch.zeros((0, len(self.label_names)))
        # Bytes that were not UTF-8 arrive as lone surrogates, which the tokenizer refuses: "?".
        texts = [text.encode("utf-8", "replace").decode("utf-8") for text in texts]
        texts = [text if text.strip() else " " for text in texts]
        encoded = encode_texts(self.tokenizer, texts, [0] * len(texts), self.max_length)
        rows = []
        for start in range(0, len(texts), batch_size):
            batch = collate(encoded, range(start, min(start + batch_size, len(texts))))
            batch = {k: v.to(self.device) for k, v in batch.items()}
            logits = self.model(batch, with_weights=False).logits.float()
            rows.append(torch.softmax(logits, dim=-1).cpu())
        return torch.cat(rows) if rows else torch.zeros((0, len(self.label_names)))

    def token_count(self, text: str) -> int:
        """The text's length in tokens (special ones included) before the cut to max_length."""
        text = text.encode("utf-8", "replace").decode("utf-8")
        return len(self.tokenizer(text, truncation=False, verbose=False)["input_ids"])

    def predict(self, texts: list[str], top_k: int = 5) -> list[list[tuple[str, float]]]:
        """For each text, the top_k (label, probability) pairs, most likely first."""
        if top_k < 1:
            raise UserError(f"--top-k must be >= 1 (got {top_k})")
        probabilities = self.probabilities(list(texts))
        k = min(top_k, len(self.label_names))
        values, indices = probabilities.topk(k, dim=-1)
        return [
            [(self.label_names[i], float(p)) for p, i in zip(row_values.tolist(), row_indices.tolist())]
            for row_values, row_indices in zip(values, indices)
        ]
