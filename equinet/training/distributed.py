"""Multi-process training with ``torch.distributed`` (launched by ``torchrun``; gloo on CPU, NCCL on GPU).

The trainer splits every global batch into ``micro_batches`` fixed slices; each slice has its own random stream
(derived from the run seed, the step and the slice index), and rank ``r`` of ``W`` processes the slices
``r·M/W … (r+1)·M/W − 1``. Randomness therefore belongs to the data, not to the process, and a run on ``W``
processes follows the trajectory of the same run on one process (up to the order of floating-point sums).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch
import torch.distributed as dist

__all__ = ["resolve_device", "Context", "setup", "teardown", "all_reduce_sum", "reduce_values", "all_gather_objects",
           "barrier", "AveragingOptimizer"]


def resolve_device(device) -> torch.device:
    """``'auto'`` -> CUDA if available else CPU; otherwise ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


@dataclass
class Context:
    """Where this process stands: ``rank`` of ``world_size``, its ``device``, and whether it started the group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def setup(device: torch.device) -> Context:
    """The `Context` of this process; under ``torchrun`` (``WORLD_SIZE > 1``) the process group is joined
    (NCCL when ``device`` is CUDA, else gloo) and a CUDA device becomes ``cuda:LOCAL_RANK``."""
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        owns = False
    elif _launched_by_torchrun():
        if not dist.is_available():
            raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
        backend = "nccl" if device.type == "cuda" else "gloo"
        local = int(os.environ.get("LOCAL_RANK", 0))
        if device.type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
        rank, world, owns = dist.get_rank(), dist.get_world_size(), True
    else:
        return Context(device=device)
    if device.type == "cuda":
        device = torch.device("cuda", local)
    return Context(rank=rank, world_size=world, local_rank=local, device=device, owns_group=owns)


def teardown(ctx: Context) -> None:
    """Leave the process group if `setup` joined it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Sum of ``t`` over the processes (``t`` itself on one process)."""
    if ctx.distributed:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def check_micro_batches(micro_batches: int, ctx: Context) -> None:
    """``micro_batches`` must be a multiple of the number of processes (each takes an equal share of slices)."""
    if micro_batches % ctx.world_size:
        raise ValueError(f"micro_batches={micro_batches} must be a multiple of the number of processes "
                         f"({ctx.world_size}); e.g. micro_batches = {ctx.world_size} (the results are then the same "
                         "for any number of processes dividing it)")


def reduce_values(values: Dict[str, float], ctx: Context) -> Dict[str, float]:
    """Sum a dict of floats over the processes (itself on one process)."""
    if not ctx.distributed or not values:
        return values
    keys = sorted(values)
    t = all_reduce_sum(torch.tensor([values[k] for k in keys], dtype=torch.float64, device=ctx.device), ctx)
    return dict(zip(keys, t.tolist()))


def all_gather_objects(obj: Any, ctx: Context) -> List[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` (``[obj]`` on one process)."""
    if not ctx.distributed:
        return [obj]
    out: List[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


class AveragingOptimizer(torch.optim.Optimizer):
    """An optimizer seen by `equinet.losses.Loss.adversary_step` once per micro-batch.

    Each call's ``zero_grad`` / ``backward`` / ``step`` gives the gradient of one micro-batch; ``step`` adds it, with
    the micro-batch's weight, to an accumulator instead of stepping. `apply` then sums the accumulators
    over the processes and takes one real step of ``optimizer``: the adversary makes one update per training step
    on the gradient of the whole global batch, whatever the number of processes.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, ctx: Context):
        # an Optimizer for isinstance checks; it owns no state (the wrapped optimizer does), so no super().__init__
        self.optimizer, self.ctx = optimizer, ctx
        self.weight = 1.0
        self._acc: Optional[List[torch.Tensor]] = None

    @property  # the wrapped optimizer's groups (an Optimizer's attribute, read-only here: this one owns no state)
    def param_groups(self):  # type: ignore[override]
        return self.optimizer.param_groups

    def _params(self):
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def state_dict(self):
        return self.optimizer.state_dict()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None) -> None:  # type: ignore[override]
        if closure is not None:
            raise ValueError("the adversary's optimizer is stepped by the trainer; closures are not supported")
        grads = [torch.zeros_like(p) if p.grad is None else p.grad.detach() * self.weight for p in self._params()]
        self._acc = grads if self._acc is None else [a + g for a, g in zip(self._acc, grads)]

    def apply(self) -> None:
        """One step of the wrapped optimizer on the accumulated (and all-reduced) gradient."""
        if self._acc is None:
            return
        for p, a in zip(self._params(), self._acc):
            p.grad = all_reduce_sum(a, self.ctx)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._acc = None
