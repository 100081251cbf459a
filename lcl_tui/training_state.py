"""What a checkpoint needs beyond the weights to resume exactly: optimiser, scheduler,
scaler, RNG and loop position. Tensors go to safetensors and the rest to JSON, so no
pickle is ever loaded from a run folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from lcl_tui.optimization import Optimization

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"


@dataclass
class LoopPosition:
    """Where the loop stands: the next optimiser step starts at `epoch`, batch `batch_start`."""

    step: int
    epoch: int
    batch_start: int
    stage: str
    total_steps: int
    best_accuracy: float
    best_step: int | None
    evals_without_improvement: int
    scheduler: dict[str, Any] = field(default_factory=dict)
    scaler: dict[str, Any] = field(default_factory=dict)
    param_groups: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ResumePoint:
    """What a checkpoint saved now must hold to resume: the loop position, and the optimiser
    state in an encoder stage (None in the classifier stage, which restarts from the frozen
    encoder on resume; it takes seconds)."""

    position: LoopPosition
    optimization: Optimization | None = None

    def write(self, folder: Path) -> None:
        if self.optimization is None:
            write_position(folder, self.position)
        else:
            o = self.optimization
            save_training_state(folder, self.position, o.optimizer, o.scheduler, o.scaler)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, torch.Tensor):
        return value.item()
    return value


def save_training_state(folder: Path, position: LoopPosition, optimizer: torch.optim.Optimizer,
                        scheduler: Any, scaler: torch.amp.GradScaler) -> None:
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            tensor = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"optimizer.{index}.{key}"] = tensor.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for device, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{device}"] = rng
    save_file(tensors, str(folder / STATE_TENSORS))
    position.param_groups = [{k: _plain(v) for k, v in group.items()} for group in state["param_groups"]]
    position.scheduler = {k: _plain(v) for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    position.scaler = {k: _plain(v) for k, v in scaler.state_dict().items()}
    write_position(folder, position)


def write_position(folder: Path, position: LoopPosition) -> None:
    """The loop position alone: all the classifier stage needs, as it restarts from the frozen
    encoder on resume."""
    (folder / STATE_JSON).write_text(json.dumps(asdict(position), indent=2) + "\n", encoding="utf-8")


def has_training_state(folder: Path) -> bool:
    return (folder / STATE_TENSORS).is_file() and (folder / STATE_JSON).is_file()


def has_position(folder: Path) -> bool:
    """Whether a checkpoint says where to resume from (with or without optimiser state)."""
    return (folder / STATE_JSON).is_file()


def read_position(folder: Path) -> LoopPosition:
    return LoopPosition(**json.loads((folder / STATE_JSON).read_text(encoding="utf-8")))


def restore_training_state(folder: Path, position: LoopPosition, optimizer: torch.optim.Optimizer,
                           scheduler: Any, scaler: torch.amp.GradScaler) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(folder / STATE_TENSORS))
    per_parameter: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            per_parameter.setdefault(int(index), {})[key] = tensor
    optimizer.load_state_dict({"state": per_parameter, "param_groups": position.param_groups})
    scheduler_state = dict(position.scheduler)
    scheduler_state["lr_lambdas"] = [None] * len(optimizer.param_groups)
    scheduler.load_state_dict(scheduler_state)
    if position.scaler:
        scaler.load_state_dict(position.scaler)
    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
