"""Where a run computes: the device, its mixed precision, and moving batches onto it."""

from __future__ import annotations

import contextlib
import functools
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from lcl_tui.errors import UserError


def select_device(requested: str) -> torch.device:
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"train.device={requested} but CUDA is not available here; use train.device=auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"train.device={requested} but MPS is not available here; use train.device=auto or cpu")
    return device


# CPU flags of native bf16 arithmetic: without them torch emulates bf16 and autocast is slower.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpuinfo_field(cpuinfo: Path, name: str) -> str:
    """The first value of `name` in a Linux cpuinfo file ("" if absent or unreadable)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def cpuinfo_has_bf16(cpuinfo: Path) -> bool:
    """Whether a Linux cpuinfo file lists native bf16 instructions."""
    return bool(BF16_CPU_FLAGS & set(cpuinfo_field(cpuinfo, "flags").split()))


def linux_cpuinfo(name: str) -> str:
    return cpuinfo_field(Path("/proc/cpuinfo"), name) if sys.platform.startswith("linux") else ""


@functools.cache
def cpu_has_bf16_instructions() -> bool:
    """Whether this CPU computes in bf16 natively (Linux flags; elsewhere: assume not)."""
    return bool(BF16_CPU_FLAGS & set(linux_cpuinfo("flags").split()))


@functools.cache
def cpu_is_intel() -> bool:
    """Whether this is an Intel CPU (Linux; elsewhere: assume not)."""
    return linux_cpuinfo("vendor_id") == "GenuineIntel"


def autocast_dtype(device: torch.device, requested: str) -> torch.dtype | None:
    """The mixed-precision dtype, or None for full precision.

    `auto`: bf16 on CUDA that has it (else fp16), bf16 on a CPU with native bf16 instructions
    (1.46x faster per step on the quickstart, accuracy within seed noise; see README), full
    precision elsewhere."""
    if requested == "no":
        return None
    if requested == "bf16":
        return torch.bfloat16
    if requested == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_bf16_instructions():
        return torch.bfloat16
    return None


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


@dataclass(frozen=True)
class Placement:
    """A device and the dtype its forward passes autocast to (None: full precision)."""

    device: torch.device
    amp_dtype: torch.dtype | None = None

    @classmethod
    def from_config(cls, device: str, mixed_precision: str) -> Placement:
        selected = select_device(device)
        return cls(selected, autocast_dtype(selected, mixed_precision))

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    @property
    def scales_gradients(self) -> bool:
        """fp16 on CUDA needs a gradient scaler; every other set-up trains unscaled."""
        return self.amp_dtype == torch.float16 and self.device.type == "cuda"
