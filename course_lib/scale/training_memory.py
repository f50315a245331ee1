"""How much memory training takes: the arithmetic, and the same numbers read off real tensors.

Training a model with Adam keeps four things per parameter (Kingma and Ba 2015): the
weight, its gradient, and Adam's two running averages (first and second moments). In 32-bit
floats that is ``4 + 4 + 4 + 4 = 16`` bytes per parameter before a single activation is
stored. With mixed precision (Micikevicius et al. 2018) the weights and gradients the GPU
computes with are 16-bit, and the optimiser keeps a 32-bit master copy of the weights plus
the two moments: ``2 + 2 + (4 + 4 + 4) = 16`` bytes, the accounting of ZeRO
(Rajbhandari et al. 2020), which then shards these across ``N`` data-parallel workers:

* stage 1 shards the optimiser states, stage 2 also the gradients, stage 3 (and PyTorch's
  FSDP) also the parameters; plain data parallelism (stage 0) keeps a full copy on every
  worker.

Activations (what the forward pass keeps for the backward pass) grow with batch size and
sequence length instead; :func:`gpt_activation_bytes` estimates them for
:class:`course_lib.models.gpt.GPT` and :func:`saved_activation_bytes` measures them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["OPTIMIZER_STATES", "TrainingMemory", "training_memory", "gpt_activation_bytes",
           "measured_training_memory", "saved_activation_bytes"]

# Extra values an optimiser keeps per parameter.
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes per worker for each kind of training state."""

    parameters: int
    gradients: int
    optimizer_states: int
    activations: int = 0

    @property
    def total(self) -> int:
        """Everything together, in bytes."""
        return self.parameters + self.gradients + self.optimizer_states + self.activations

    def as_dict(self) -> dict[str, int]:
        """``{kind: bytes}`` including ``"total"``, for a table."""
        return {"parameters": self.parameters, "gradients": self.gradients,
                "optimizer states": self.optimizer_states, "activations": self.activations,
                "total": self.total}

    def describe(self, unit: str = "GB") -> str:
        """One line per kind, in ``unit`` (``"GB"`` = 1e9 bytes, ``"MB"`` or ``"B"``)."""
        scale = {"GB": 1e9, "MB": 1e6, "B": 1.0}
        if unit not in scale:
            raise ValueError(f"unit: expected one of {sorted(scale)}, got {unit!r}")
        return "\n".join(f"{k:<17}: {v / scale[unit]:12,.3f} {unit}"
                         for k, v in self.as_dict().items())


def training_memory(num_params: int, *, optimizer: str = "adam", mixed_precision: bool = False,
                    world_size: int = 1, zero_stage: int = 0,
                    activations: int = 0) -> TrainingMemory:
    """Bytes each worker needs to train a model of ``num_params`` parameters.

    Args:
        optimizer: ``"adam"`` (two states per parameter), ``"momentum"`` (one) or ``"sgd"``.
        mixed_precision: 16-bit weights and gradients plus a 32-bit master copy of the
            weights kept with the optimiser states; otherwise everything is 32-bit.
        world_size: number of data-parallel workers.
        zero_stage: 0 (plain data parallelism: full copies everywhere), 1 (optimiser
            states sharded across the workers), 2 (and gradients), 3 (and parameters;
            FSDP's full sharding).
        activations: bytes of activations per worker (e.g. :func:`gpt_activation_bytes`);
            never sharded by ZeRO, which shards only the model states.
    """
    if isinstance(num_params, bool) or not isinstance(num_params, int) or num_params < 0:
        raise ValueError(f"num_params: expected a non-negative integer, got {num_params!r}")
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZER_STATES)}, "
                         f"got {optimizer!r}")
    if world_size < 1:
        raise ValueError(f"world_size: expected a positive integer, got {world_size}")
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage: expected 0, 1, 2 or 3, got {zero_stage}")
    weight_bytes = 2 if mixed_precision else 4
    states_per_param = OPTIMIZER_STATES[optimizer] * 4 + (4 if mixed_precision else 0)
    # Integer division rounds a shard down; the remainder is a few bytes at most.
    shard = {True: world_size, False: 1}
    return TrainingMemory(
        parameters=num_params * weight_bytes // shard[zero_stage >= 3],
        gradients=num_params * weight_bytes // shard[zero_stage >= 2],
        optimizer_states=num_params * states_per_param // shard[zero_stage >= 1],
        activations=activations)


def gpt_activation_bytes(d_model: int, num_layers: int, num_heads: int, vocab_size: int,
                         batch_size: int, seq_len: int, bytes_per_value: int = 4) -> int:
    """Estimated bytes of activations that :class:`course_lib.models.gpt.GPT` keeps for backward.

    Per token and per block, autograd keeps about ``16 D + H`` values: the block input and
    LayerNorm output (``2 D``) for attention, the query, key and value (``3 D``), the
    attention output before and after its projection's input reshape (``2 D``), the second
    LayerNorm's input and output (``2 D``), the feed-forward hidden layer before and after
    GELU (``2 x 4 D``), minus one ``D`` that two of these share, plus one log-sum-exp per
    head from the fused attention kernel. Outside the blocks: the embeddings and final
    LayerNorm (``2 D``) and the logits and their log-softmax (``2 V``). Which tensors are
    kept depends on the kernels used, so treat this as an estimate (about 10% here; the
    unit tests compare it with :func:`saved_activation_bytes`).
    """
    per_token = num_layers * (16 * d_model + num_heads) + 2 * d_model + 2 * vocab_size
    return int(batch_size * seq_len * per_token * bytes_per_value)


def measured_training_memory(model: torch.nn.Module,
                             optimizer: torch.optim.Optimizer) -> TrainingMemory:
    """Bytes actually held by ``model``'s parameters and gradients and by ``optimizer``'s
    state tensors (call after at least one ``optimizer.step()``). Shared tensors (tied
    weights) count once; Adam's per-parameter step counters (scalars) are left out, as
    the arithmetic leaves them out."""
    params = {id(p): p for p in model.parameters()}.values()  # de-duplicate tied weights
    parameters = sum(p.numel() * p.element_size() for p in params)
    gradients = sum(p.grad.numel() * p.grad.element_size() for p in params
                    if p.grad is not None)
    states = 0
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value) and value.dim() > 0:
                states += value.numel() * value.element_size()
    return TrainingMemory(parameters=parameters, gradients=gradients, optimizer_states=states)


def saved_activation_bytes(model: torch.nn.Module, loss_fn: Callable[[], torch.Tensor]) -> int:
    """Bytes of the tensors autograd saves for backward while ``loss_fn()`` runs, other than
    ``model``'s parameters. Each storage counts once (views of one tensor share it)."""
    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in param_storages:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = loss_fn()
    del loss  # frees the graph and its saved tensors
    return sum(seen.values())
