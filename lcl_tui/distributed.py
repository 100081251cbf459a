"""Data-parallel training over torch.distributed: one process per device, started by torchrun.

The trainer talks to a `SingleProcess` (the default: no wrapper, no collective, nothing
changes) or, when torchrun started this process with a world size above 1, to a
`DataParallel` that:

- deals each global batch out to the ranks (`shard_batch`), each same-class chunk of a
  class-aware batch kept whole where it fits, so every rank's slice still holds positives;
- wraps the model in DistributedDataParallel, which averages parameter gradients over ranks;
- all-gathers every rank's features, logits, weighting logits and labels with gradients
  (`torch.distributed.nn.functional.all_gather`), so that each rank computes the objective
  of the whole global batch: the number one process computes on the same examples.
  Why the gradients come out exact: all N ranks compute the same loss L; all_gather's
  backward sums, over ranks, what each copy of L sends to rank r's rows, N * dL/dx_r; DDP's
  mean over ranks divides the N back out: (1/N) sum_r N dL/dx_r dx_r/dw = dL/dw. The CE
  terms included, as the logits are gathered too. The B x B loss is computed N times, a
  small price next to the encoder;
- agrees on stopping after every step (an all_reduce of the ranks' stop requests), so all
  ranks stop after the same step;
- evaluates its share of the evaluation batches and sums the logits over ranks.

Only rank 0 writes the run folder; the other ranks see it through a `SilentRun`.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lcl_tui.errors import UserError
from lcl_tui.models import ModelOutput
from lcl_tui.runstore import Run

log = logging.getLogger(__name__)

TIMEOUT_ENV = "LCL_TUI_DIST_TIMEOUT"
# A rank waits at most this long for the others (rank 0 saving a checkpoint, a dead peer
# on another node) before its collective fails instead of hanging.
DEFAULT_TIMEOUT_SECONDS = 600

# How long `DataParallel.close` lets gloo's threads finish with the GIL (see there).
GLOO_DRAIN_SECONDS = 0.05


@dataclass
class Shard:
    """This rank's part of one global batch."""

    # The examples this rank runs: its share, or one stand-in when the batch has fewer
    # examples than ranks (its rows are dropped from the gathered batch).
    indices: list[int]
    # Real examples per rank, the same list on every rank.
    counts: list[int]


def _even_split(items: list[int], parts: int) -> list[list[int]]:
    size, extra = divmod(len(items), parts)
    pieces, start = [], 0
    for part in range(parts):
        end = start + size + (part < extra)
        pieces.append(items[start:end])
        start = end
    return pieces


def shard_batch(indices: Sequence[int], labels: Sequence[int], world_size: int) -> list[list[int]]:
    """Deal a global batch out to `world_size` ranks, about len/world_size examples each.

    The batch is cut into runs of one class (a class-aware batch's chunks), runs longer
    than a rank's share are split evenly, and the pieces go, largest first, to the rank
    holding fewest examples. Every example goes to exactly one rank; every rank gets one
    when the batch has at least `world_size`; each rank keeps the batch's order. The same
    inputs give the same shards in every process, so no rank has to ask another.
    """
    share = -(-len(indices) // world_size)
    runs: list[list[int]] = []
    for index in indices:
        if runs and labels[runs[-1][-1]] == labels[index]:
            runs[-1].append(index)
        else:
            runs.append([index])
    pieces = [piece for run in runs for piece in _even_split(run, -(-len(run) // share))]
    while len(pieces) < min(world_size, len(indices)):
        largest = max(range(len(pieces)), key=lambda i: (len(pieces[i]), -i))
        pieces[largest:largest + 1] = _even_split(pieces[largest], 2)
    loads = [0] * world_size
    owner = [0] * len(pieces)
    for piece in sorted(range(len(pieces)), key=lambda i: (-len(pieces[i]), i)):
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        owner[piece] = rank
        loads[rank] += len(pieces[piece])
    shards: list[list[int]] = [[] for _ in range(world_size)]
    for piece, members in enumerate(pieces):
        shards[owner[piece]].extend(members)
    return shards


class SilentRun(Run):
    """The run folder as ranks other than 0 see it: read as usual, never written."""

    def write_status(self, status: str, error: str | None = None) -> None:
        pass

    def save_split(self, splits) -> None:
        pass

    def append_event(self, event) -> None:
        pass

    def set_pointer(self, name: str, folder: Path, **extra: Any) -> None:
        pass

    def prune_checkpoints(self) -> None:
        pass

    def acquire_writer(self) -> None:
        pass  # rank 0 holds the run's writer lock for every rank

    def release_writer(self) -> None:
        pass


class LogitsOutOfTheGraph(nn.Module):
    """scl-two-stage's contrastive stage, for DDP: the loss never uses the logits, so they come
    back detached; DDP then finds the classifier head unused (gradients None, as one process
    leaves them) instead of waiting for its gradients forever."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor], with_weights: bool = True) -> ModelOutput:
        output = self.model(batch, with_weights=with_weights)
        return ModelOutput(logits=output.logits.detach(), features=output.features,
                           weight_logits=output.weight_logits)


class SingleProcess:
    """One process, as always: every hook hands its input back; no wrapper, no collective."""

    rank = 0
    world_size = 1

    @property
    def is_writer(self) -> bool:
        """Whether this process writes the run folder and publishes events (rank 0)."""
        return self.rank == 0

    def run_view(self, run: Run | None) -> Run | None:
        return run

    def wrap(self, model: nn.Module, stage: str) -> nn.Module:
        return model

    def shard(self, indices: Sequence[int], labels: Sequence[int]) -> Shard:
        return Shard(list(indices), [len(indices)])

    def gather(self, output: ModelOutput, labels: torch.Tensor, shard: Shard, views: int,
               stage: str) -> tuple[ModelOutput, torch.Tensor]:
        return output, labels

    def agree_stop(self, stop: threading.Event) -> None:
        pass

    def share(self, batches: Iterable[list[int]]) -> Iterable[list[int]]:
        return batches

    def combine(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def close(self) -> None:
        pass


SINGLE_PROCESS = SingleProcess()


class DataParallel(SingleProcess):
    """One rank of a data-parallel run; the process group must be initialised already."""

    def __init__(self, rank: int, world_size: int, stop_request: threading.Event | None = None):
        self.rank = rank
        self.world_size = world_size
        # Set by this process's signal handlers; `agree_stop` turns the ranks' requests
        # into one decision, so that no rank leaves the loop a step before the others.
        self.stop_request = stop_request or threading.Event()

    def run_view(self, run: Run | None) -> Run | None:
        if self.is_writer:
            return run
        return SilentRun(run.path if run is not None else Path(f"rank-{self.rank}"))

    def wrap(self, model: nn.Module, stage: str) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        if device.type == "cuda" and device.index not in (None, torch.cuda.current_device()):
            raise UserError(f"train.device=cuda:{device.index} puts every process on one GPU; with several "
                            "processes use train.device=auto or cuda (each takes its local rank's GPU)")
        # Some parameters never reach the loss: a BERT's (RoBERTa's, MPNet's...) pooler, and the
        # classifier head in scl-two-stage's contrastive stage. DDP must be told, or it waits
        # for their gradients; it then leaves them None, as one process does. Told needlessly
        # (ELECTRA, the RNNs), it warns in every process. (static_graph broke the equality test.)
        unused = stage == "contrastive" or any(".pooler." in f".{name}" for name, _ in model.named_parameters())
        if stage == "contrastive":
            model = LogitsOutOfTheGraph(model)
        wrapped = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=unused,
        )
        # The same draw on every rank, then one seed per rank: dropout masks differ across ranks.
        torch.manual_seed(int(torch.randint(0, 2**62, (1,))) + self.rank)
        return wrapped

    def shard(self, indices: Sequence[int], labels: Sequence[int]) -> Shard:
        shards = shard_batch(indices, labels, self.world_size)
        mine = shards[self.rank] or [indices[0]]
        return Shard(mine, [len(shard) for shard in shards])

    def gather(self, output: ModelOutput, labels: torch.Tensor, shard: Shard, views: int,
               stage: str) -> tuple[ModelOutput, torch.Tensor]:
        """The global batch's outputs and labels on every rank, with gradients to this rank's rows."""
        from torch.distributed.nn.functional import all_gather

        parts = [output.features]
        with_logits = stage != "contrastive"
        if with_logits:
            parts.append(output.logits)
        if output.weight_logits is not None:
            parts.append(output.weight_logits)
        dtype = reduce(torch.promote_types, [part.dtype for part in parts], torch.float32)
        # One collective for everything: the labels ride along as a column (exact below 2**24).
        local = torch.cat([part.to(dtype) for part in parts] + [labels.to(dtype).unsqueeze(1)], dim=1)
        rows = [views * count for count in shard.counts]
        height = max(rows)
        local = nn.functional.pad(local, (0, 0, 0, height - local.shape[0]))
        with warnings.catch_warnings():
            # Deprecated in favour of a private module's functions; still the public API.
            warnings.simplefilter("ignore", FutureWarning)
            blocks = all_gather(local)
        full = torch.cat([block[:count] for block, count in zip(blocks, rows)])
        columns = list(full.split([part.shape[1] for part in parts] + [1], dim=1))
        features = columns.pop(0).to(output.features.dtype)
        logits = columns.pop(0).to(output.logits.dtype) if with_logits else output.logits
        weight_logits = None
        if output.weight_logits is not None:
            weight_logits = columns.pop(0).to(output.weight_logits.dtype)
        gathered_labels = columns.pop(0).squeeze(1).round().to(labels.dtype)
        return ModelOutput(logits=logits, features=features, weight_logits=weight_logits), gathered_labels

    def agree_stop(self, stop: threading.Event) -> None:
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self.stop_request.is_set() or stop.is_set() else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() > 0:
            stop.set()

    def share(self, batches: Iterable[list[int]]) -> Iterator[list[int]]:
        """Every world_size-th evaluation batch, from this rank's offset."""
        for number, batch in enumerate(batches):
            if number % self.world_size == self.rank:
                yield batch

    def combine(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over ranks of a tensor each rank filled its share of (zeros elsewhere)."""
        import torch.distributed as dist

        total = tensor.clone()
        dist.all_reduce(total)
        return total

    def close(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
        # Each gloo collective holds the Python context it was started in, and gloo's worker
        # threads drop a finished one only after the caller has moved on: they wait for the
        # GIL to do it. One still waiting when the interpreter shuts down aborts the process
        # ("terminate called without an active exception", SIGABRT after a completed run, in
        # about 1 run in 7 here). Sleeping hands them the GIL while it can still be taken.
        time.sleep(GLOO_DRAIN_SECONDS)


# --- set-up from torchrun's environment -------------------------------------------------------


def launched_world_size() -> int:
    """The world size torchrun gave this process, 1 when it did not start it."""
    if "RANK" not in os.environ or "LOCAL_RANK" not in os.environ:
        return 1
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def launched_rank() -> int:
    """This process's rank under torchrun (before joining the group), 0 otherwise."""
    if launched_world_size() == 1:
        return 0
    try:
        return int(os.environ["RANK"])
    except ValueError:
        return 0


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_process(processes: int) -> int:
    """CPU threads for each of `processes` processes on this machine: the cores shared out."""
    return max(1, cpu_cores() // max(1, processes))


def timeout_seconds() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UserError(f"{TIMEOUT_ENV}={raw!r}: give the collective timeout in seconds (a number > 0)")
    return seconds


def stop_requests_on_signals(request: threading.Event, announce: bool) -> None:
    """SIGINT, SIGTERM and SIGHUP ask this rank to stop. Never an abort: torchrun's agent sends
    one signal to every rank and kills them after its shutdown timeout."""

    def request_stop(signum, frame):
        if announce and not request.is_set():
            print("stopping every process after this step", flush=True)
        request.set()

    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), request_stop)


def start_from_environment(requested_device: str) -> SingleProcess:
    """Join the process group torchrun set up, or `SINGLE_PROCESS` when there is none.

    `requested_device` is the run's train.device. CPU runs use gloo; CUDA runs NCCL for the
    CUDA tensors and gloo for the CPU ones (the stop flag, evaluation logits). Each process
    takes its local rank's GPU and an equal share of the CPU cores.
    """
    world_size = launched_world_size()
    if world_size == 1:
        return SINGLE_PROCESS
    import torch.distributed as dist

    local_rank = int(os.environ["LOCAL_RANK"])
    local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
    check_devices(requested_device, local_world_size)
    torch.set_num_threads(threads_per_process(local_world_size))
    backend = "gloo"
    if requested_device in ("auto", "cuda") and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_seconds()))
    parallel = DataParallel(dist.get_rank(), dist.get_world_size())
    stop_requests_on_signals(parallel.stop_request, announce=parallel.is_writer)
    return parallel


def check_devices(requested: str, processes_here: int) -> None:
    """A one-line UserError when `processes_here` processes cannot each have the device asked for."""
    if requested == "mps" or (requested == "auto" and not torch.cuda.is_available()
                              and getattr(torch.backends, "mps", None) is not None
                              and torch.backends.mps.is_available()):
        raise UserError("several processes cannot share the one MPS device; set train.device=cpu "
                        "to train in CPU processes")
    if requested.startswith("cuda:"):
        raise UserError(f"train.device={requested} puts every process on one GPU; with several processes "
                        "use train.device=auto or cuda (each takes its local rank's GPU)")
    wants_cuda = requested == "cuda" or (requested == "auto" and torch.cuda.is_available())
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device=cuda but CUDA is not available here; use train.device=auto or cpu")
    if wants_cuda and processes_here > torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise UserError(f"{processes_here} processes but {count} GPU(s) on this machine; use --nproc {count} "
                        "or less (one process per GPU), or train.device=cpu")


def batch_split_warning(batch_size: int, world_size: int) -> str | None:
    """The warning for a global batch that does not divide evenly across the ranks."""
    if world_size <= 1 or batch_size % world_size == 0:
        return None
    low = batch_size // world_size
    return (f"warning: train.batch_size={batch_size} does not divide by {world_size} processes: each "
            f"process takes {low} or {low + 1} examples of every global batch of {batch_size}")
