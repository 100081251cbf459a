"""Resources checked before they are spent: the device, the batch against the data, the
step budget, and the memory a training step will take.

Everything here runs before a run folder is made (or, on resume, before a step is taken),
and every refusal is one ConfigError naming the key to change.

The memory estimate
-------------------
Training keeps every layer's activations for the backward pass. For a transformer encoder
they come to about 20 float32 values per hidden unit per layer per token (measured on the
packaged MiniLM-L6, hidden 384, 6 layers, CPU: peak memory grows by 174 KiB per token for
batches of 8..256 at lengths 64 and 256, i.e. 19.3 values; Korthikanti et al. 2022 count
34 bytes = 17 half-precision values, without the attention scores). PyTorch's fused
attention (`sdpa`, the default) keeps no batch x heads x length x length score matrix, so
the estimate has no term for it; an encoder run with eager attention needs more at long
lengths. With mixed precision the values are counted at 2 bytes instead of 4. Gradients and
AdamW's two moments add 3 float32 values per trainable parameter. The RNN baselines count
20 values per (embedding + hidden) unit per token. A step must fit in the memory available
now (`MemAvailable` in /proc/meminfo on the CPU, `torch.cuda.mem_get_info` on a GPU) with a
10% margin: the estimate is rough, the margin keeps a borderline batch from the OOM killer.
Evaluation keeps no activations: about 12 values per hidden unit per token of one batch.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

from lcl_tui.config import RunConfig
from lcl_tui.errors import ConfigError, UserError

log = logging.getLogger(__name__)

TRAIN_VALUES_PER_UNIT = 20  # per hidden unit, per layer, per token (see the module doc)
EVAL_VALUES_PER_UNIT = 12  # per hidden unit, per token, one layer at a time
OPTIMIZER_VALUES_PER_PARAMETER = 3  # the gradient and AdamW's two moments
MEMORY_MARGIN = 0.9  # use at most this share of the memory available
# A step budget beyond this many epochs of the data is a typo, not a plan.
MAX_EPOCHS_OF_STEPS = 1000
CUDA_DEVICE = re.compile(r"cuda(?::(\d+))?")


# --- the device ---------------------------------------------------------------------------------


def check_device(requested: str) -> None:
    """`train.device` must name a device this machine has (the config checks its spelling).

    A UserError, not a ConfigError: the same config is right on another machine."""
    import torch

    match = CUDA_DEVICE.fullmatch(requested)
    if match is not None:
        if not torch.cuda.is_available():
            raise UserError(f"train.device={requested} but CUDA is not available here; use "
                              "train.device=auto or cpu")
        count = torch.cuda.device_count()
        if match.group(1) is not None and int(match.group(1)) >= count:
            have = ", ".join(f"cuda:{i}" for i in range(count))
            raise UserError(f"train.device={requested} but this machine has {count} CUDA device(s) "
                              f"({have}); set train.device to one of them")
    elif requested == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError(f"train.device={requested} but MPS is not available here; use "
                              "train.device=auto or cpu")


# --- memory -------------------------------------------------------------------------------------


@dataclass
class ModelShape:
    """What the estimate needs to know of a model."""

    units_per_token: int  # hidden size x layers (transformer) or embedding + hidden (RNN)
    eval_units_per_token: int  # hidden size (the widest layer held at once, roughly)
    trainable_parameters: int
    encoders: int = 1  # LCL `separate` runs a second encoder on every batch

    @classmethod
    def of(cls, model) -> ModelShape:
        from lcl_tui.models import TransformerBackbone

        def units(backbone) -> tuple[int, int]:
            if isinstance(backbone, TransformerBackbone):
                config = backbone.encoder.config
                hidden = int(getattr(config, "hidden_size", backbone.hidden_size))
                layers = int(getattr(config, "num_hidden_layers", 12))
                return hidden * layers, hidden
            width = sum(m.embedding_dim for m in backbone.modules() if hasattr(m, "embedding_dim"))
            hidden = int(backbone.hidden_size)
            return width + hidden, width + hidden

        train_units, eval_units = units(model.backbone)
        encoders = 1
        if getattr(model, "weighting_backbone", None) is not None:
            extra, _ = units(model.weighting_backbone)
            train_units += extra
            encoders = 2
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        return cls(train_units, eval_units, trainable, encoders)


def bytes_per_value(mixed_precision: bool) -> int:
    return 2 if mixed_precision else 4


def training_bytes(shape: ModelShape, tokens: int, mixed_precision: bool = False) -> int:
    """Memory one training step takes on top of the loaded model (see the module doc)."""
    activations = TRAIN_VALUES_PER_UNIT * shape.units_per_token * tokens * bytes_per_value(mixed_precision)
    return activations + OPTIMIZER_VALUES_PER_PARAMETER * 4 * shape.trainable_parameters


def evaluation_bytes(shape: ModelShape, tokens: int, mixed_precision: bool = False) -> int:
    return EVAL_VALUES_PER_UNIT * shape.eval_units_per_token * tokens * bytes_per_value(mixed_precision)


def available_bytes(device) -> int | None:
    """Memory free for this run now: the GPU's free memory, or the OS's MemAvailable."""
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None  # not Linux: nothing to check against


def _size(value: float) -> str:
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:.1f} MiB"


# --- the check ----------------------------------------------------------------------------------


def fit_to_resources(config: RunConfig, *, model, device, train_size: int, eval_size: int,
                     mixed_precision: bool = False, available: int | None = None) -> RunConfig:
    """The config to train with: the batch clamped to the data (with a warning), or a
    ConfigError naming the key when the steps or the memory cannot work.

    A batch larger than the training set is clamped rather than refused: no batch can hold
    more than every example, so the user gets the full-batch training they evidently asked
    for, and a preset's batch size keeps working on a small dataset.
    """
    train = config.train
    asked = f"train.batch_size={train.batch_size}"
    clamped = train_size >= 1 and train.batch_size > train_size
    if clamped:
        asked += f" (the whole training set: {train_size})"
        train = dataclasses.replace(train, batch_size=train_size,
                                    examples_per_class=min(train.examples_per_class, train_size))
    steps_per_epoch = max(1, math.ceil(math.ceil(train_size / train.batch_size) / train.grad_accumulation))
    if train.max_steps is not None and train.max_steps > MAX_EPOCHS_OF_STEPS * steps_per_epoch:
        raise ConfigError(
            f"train.max_steps={train.max_steps} is more than {MAX_EPOCHS_OF_STEPS} epochs of this data "
            f"({steps_per_epoch} steps per epoch); set train.max_steps <= "
            f"{MAX_EPOCHS_OF_STEPS * steps_per_epoch} or leave it unset and set train.epochs")
    available = available if available is not None else available_bytes(device)
    if available is not None:
        budget = int(available * MEMORY_MARGIN)
        shape = ModelShape.of(model)
        views = 2 if train.views == "dropout" else 1
        length = config.data.max_length
        need = training_bytes(shape, train.batch_size * views * length, mixed_precision)
        if need > budget:
            per_example = training_bytes(shape, views * length, mixed_precision) - training_bytes(shape, 0)
            fits = max(0, (budget - training_bytes(shape, 0)) // max(1, per_example))
            fix = (f"set train.batch_size <= {fits} (raise train.grad_accumulation to keep the effective "
                   "batch) or lower data.max_length" if fits >= 1 else
                   "the model alone does not fit: use a smaller model.name or another train.device")
            raise ConfigError(
                f"{asked} needs about {_size(need)} per training step at "
                f"data.max_length={length} (estimate), more than the {_size(budget)} available on {device}; {fix}")
        eval_batch = min(train.eval_batch_size, max(eval_size, 1))
        need = evaluation_bytes(shape, eval_batch * length, mixed_precision)
        if need > budget:
            per_example = max(1, evaluation_bytes(shape, length, mixed_precision))
            raise ConfigError(
                f"train.eval_batch_size={train.eval_batch_size} needs about {_size(need)} to evaluate at "
                f"data.max_length={length} (estimate), more than the {_size(budget)} available on {device}; "
                f"set train.eval_batch_size <= {max(1, budget // per_example)}")
    if clamped:  # said only once the config is accepted: a refusal stays one line
        log.warning("train.batch_size=%d is more than the %d training examples; using %d (one batch "
                    "per epoch)", config.train.batch_size, train_size, train_size)
    return config if train is config.train else dataclasses.replace(config, train=train)
