"""The decoder block of current open language models, as assembled in LLaMA (Touvron et al. 2023).

Against lesson 06's GPT-2-style block (:mod:`course_lib.models.gpt`) four parts change:

* :class:`RMSNorm` (Zhang & Sennrich 2019) instead of LayerNorm: divide by the root mean
  square of the features, no mean subtraction and no bias;
* :class:`SwiGLU` feed-forward (Shazeer 2020): ``down(silu(gate(x)) * up(x))``, a gated
  unit with three matrices instead of two (so its width is about ``8/3 d`` rather than
  ``4 d`` for the same parameters);
* rotary positions (RoPE, Su et al. 2021) rotate queries and keys inside attention instead
  of a learned position vector added to the input;
* grouped-query attention (Ainslie et al. 2023): ``num_kv_heads`` key/value heads shared by
  the query heads.

No linear layer has a bias, blocks are pre-norm, and the output layer is a separate matrix
(Llama) or tied to the input embedding (``tie_embeddings=True``). The attention is
:class:`course_lib.attention.GroupedQueryAttention` with
:class:`course_lib.attention.RotaryEmbedding`. With ``attention_only=True`` the blocks have
no feed-forward layer: the two-layer attention-only models in which Elhage et al. (2021) and
Olsson et al. (2022) found induction heads.

:func:`load_hf_llama_state_dict` reads the weights of a Hugging Face ``LlamaForCausalLM``;
with them :class:`Llama` computes the same logits (``tests/test_llama.py``).

Shapes: ``B`` batch, ``T`` tokens, ``D`` width, ``H`` query heads, ``G`` key/value heads,
``Dh`` head width, ``V`` vocabulary size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention.caches import KVCache
from course_lib.attention.grouped import GroupedQueryAttention
from course_lib.attention.positions import RotaryEmbedding
from course_lib.core.modules import count_parameters
from course_lib.core.validation import check_divisible, check_ids, check_positive_ints

__all__ = ["LlamaConfig", "rms_norm", "RMSNorm", "SwiGLU", "LlamaBlock", "Llama", "llama_ffn_width",
           "rotate_half_to_interleaved", "load_hf_llama_state_dict", "config_from_hf"]


def llama_ffn_width(d_model: int, multiple_of: int = 16) -> int:
    """LLaMA's feed-forward width: ``2/3 * 4 * d_model`` rounded up to ``multiple_of``, so the
    three SwiGLU matrices hold about as many parameters as a ``4 d_model`` GELU layer's two."""
    width = int(2 * 4 * d_model / 3)
    return multiple_of * ((width + multiple_of - 1) // multiple_of)


@dataclass(kw_only=True)
class LlamaConfig:
    """Sizes of a :class:`Llama`. ``num_kv_heads=None``: ``num_heads`` (no grouping);
    ``d_ff=None``: :func:`llama_ffn_width`; ``norm_eps`` as Hugging Face's ``rms_norm_eps``."""

    vocab_size: int
    max_len: int
    d_model: int
    num_heads: int
    num_layers: int
    num_kv_heads: int | None = None
    d_ff: int | None = None
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = False
    attention_only: bool = False

    def __post_init__(self) -> None:
        check_positive_ints(self, "vocab_size", "max_len", "d_model", "num_heads", "num_layers")
        check_divisible(self, "d_model", "num_heads")
        if (self.d_model // self.num_heads) % 2:
            raise ValueError(f"d_model: expected an even head width for RoPE, got "
                             f"d_model / num_heads = {self.d_model // self.num_heads}")
        if self.num_kv_heads is None:
            self.num_kv_heads = self.num_heads
        check_positive_ints(self, "num_kv_heads")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads: expected a divisor of num_heads="
                             f"{self.num_heads}, got {self.num_kv_heads}")
        if self.d_ff is None:
            self.d_ff = llama_ffn_width(self.d_model)
        check_positive_ints(self, "d_ff")
        if not self.norm_eps > 0:
            raise ValueError(f"norm_eps: expected a positive number, got {self.norm_eps}")


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``x / sqrt(mean(x^2 over the last axis) + eps) * weight``: ``(..., D)`` -> ``(..., D)``.

    Computed in float32 (as Hugging Face's Llama does) and returned in ``x``'s dtype.
    """
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(dim=-1, keepdim=True) + eps)
    return weight * h.to(x.dtype)


class RMSNorm(nn.Module):
    """Root-mean-square normalisation: ``x / sqrt(mean(x^2 over the last axis) + eps) * weight``.

    Unlike LayerNorm it does not subtract the mean and has no bias. Computed in float32
    (as Hugging Face's Llama does) and returned in the input's dtype.
    ``forward(x (..., D)) -> (..., D)``.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def extra_repr(self) -> str:
        """Shown inside ``repr(module)``."""
        return f"{self.weight.shape[0]}, eps={self.eps}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., D) -> (..., D)``."""
        if x.shape[-1] != self.weight.shape[0]:
            raise ValueError(f"x: expected last dim {self.weight.shape[0]}, got shape "
                             f"{tuple(x.shape)}")
        return rms_norm(x, self.weight, self.eps)


class SwiGLU(nn.Module):
    """Gated feed-forward layer: ``down(silu(gate(x)) * up(x))``, no biases.

    ``silu(z) = z * sigmoid(z)``; the ``up`` branch, multiplied in, lets the layer gate each
    hidden unit by its input. ``forward(x (..., D)) -> (..., D)`` through width ``d_ff``.
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ff, bias=False)
        self.up_proj = nn.Linear(d_model, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., D) -> (..., D)``."""
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    """Pre-norm block: ``x + attn(RMSNorm(x))`` (causal, RoPE, GQA), then
    ``x + SwiGLU(RMSNorm(x))``; attention-only blocks keep just ``x + attn(RMSNorm(x))``.

    ``forward(x (B, T, D), rotary, cache=None, need_weights=False)`` ->
    ``(out (B, T, D), weights (B, H, T, S) or None)``.
    """

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        D = config.d_model
        self.attention_only = config.attention_only
        self.attn_norm = RMSNorm(D, config.norm_eps)
        self.attn = GroupedQueryAttention(D, config.num_heads, config.num_kv_heads, bias=False)
        if not self.attention_only:
            self.ffn_norm = RMSNorm(D, config.norm_eps)
            self.ffn = SwiGLU(D, config.d_ff)

    def forward(self, x: torch.Tensor, rotary: RotaryEmbedding, cache: KVCache | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (B, T, D) -> (out (B, T, D), weights (B, H, T, S) or None)``."""
        h = self.attn_norm(x)
        # One new token may see every cached key: no mask needed (as in GPTBlock).
        attended, weights = self.attn(h, is_causal=x.shape[1] > 1, rotary=rotary, cache=cache,
                                      need_weights=need_weights)
        x = x + attended
        if not self.attention_only:
            x = x + self.ffn(self.ffn_norm(x))
        return x, weights


class Llama(nn.Module):
    """A decoder-only language model of :class:`LlamaBlock` s.

    ``forward(idx (B, T), caches=None, need_weights=False)`` -> logits ``(B, T, V)``, or
    ``(logits, [L x weights (B, H, T, S)])`` with ``need_weights``. ``caches`` (from
    :meth:`make_caches`) hold the past; ``idx`` then holds only the new tokens.
    """

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        D = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size, D)
        self.rotary = RotaryEmbedding(D // config.num_heads, base=config.rope_base)
        self.blocks = nn.ModuleList(LlamaBlock(config) for _ in range(config.num_layers))
        self.final_norm = RMSNorm(D, config.norm_eps)
        self.lm_head = nn.Linear(D, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        if config.tie_embeddings:
            self.lm_head.weight = self.token_embedding.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # Hugging Face's Llama initialisation: normal(0, 0.02) for every matrix; norms at 1.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    @property
    def max_len(self) -> int:
        """The longest sequence (cached + new tokens) the model reads."""
        return self.config.max_len

    def make_caches(self) -> list[KVCache]:
        """Fresh, empty KV caches, one per block (each stores ``G`` heads)."""
        return [KVCache() for _ in self.blocks]

    def num_parameters(self) -> int:
        """Trainable parameters; a tied embedding counts once."""
        return count_parameters(self)

    def forward(self, idx: torch.Tensor, caches: Sequence[KVCache] | None = None,
                need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """``idx (B, T)`` -> logits ``(B, T, V)``; with ``need_weights``
        ``(logits, [L x (B, H, T, S)])``."""
        check_ids(idx, "idx", "B, T")
        if caches is not None and len(caches) != len(self.blocks):
            raise ValueError(f"caches: expected {len(self.blocks)} KV caches (one per layer), "
                             f"got {len(caches)}")
        past = 0 if caches is None else caches[0].length
        if past + idx.shape[1] > self.config.max_len:
            raise ValueError(f"idx: sequence length {past + idx.shape[1]} exceeds max_len "
                             f"{self.config.max_len}")
        x = self.token_embedding(idx)
        maps = []
        for i, block in enumerate(self.blocks):
            x, weights = block(x, self.rotary, cache=None if caches is None else caches[i],
                               need_weights=need_weights)
            maps.append(weights)
        logits = self.lm_head(self.final_norm(x))
        return (logits, maps) if need_weights else logits


# --------------------------------------------------------------------------- Hugging Face
def rotate_half_to_interleaved(weight: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Reorder the rows of a query or key projection ``(num_heads * Dh, D)`` from Hugging
    Face's RoPE layout to ours.

    Hugging Face's Llama rotates dimension ``i`` of a head with dimension ``i + Dh/2``
    ("rotate half"); :class:`~course_lib.attention.RotaryEmbedding` rotates neighbours
    ``2i`` and ``2i + 1``, as the RoPE paper writes it. Both use frequency ``i`` for pair
    ``i``, so putting row ``i`` at ``2i`` and row ``i + Dh/2`` at ``2i + 1`` in every head
    gives the same rotation. Queries and keys are permuted alike, so their dot products,
    and the attention, are unchanged.
    """
    rows, cols = weight.shape
    if rows % num_heads or (rows // num_heads) % 2:
        raise ValueError(f"weight: expected num_heads={num_heads} heads of even width, got "
                         f"shape {tuple(weight.shape)}")
    Dh = rows // num_heads
    # (heads, 2 halves, Dh/2, D) -> (heads, Dh/2, 2, D): rows i and i + Dh/2 become neighbours
    return weight.view(num_heads, 2, Dh // 2, cols).transpose(1, 2).reshape(rows, cols)


def config_from_hf(hf_config) -> LlamaConfig:
    """A :class:`LlamaConfig` from a Hugging Face ``LlamaConfig`` (read by attribute)."""
    head_dim = getattr(hf_config, "head_dim", None)
    width = hf_config.hidden_size // hf_config.num_attention_heads
    if head_dim is not None and head_dim != width:
        raise ValueError(f"hf_config: expected head_dim = hidden_size / num_attention_heads = "
                         f"{width}, got {head_dim}")
    for flag in ("attention_bias", "mlp_bias"):
        if getattr(hf_config, flag, False):
            raise ValueError(f"hf_config: {flag}=True is not supported (Llama has no biases)")
    # transformers 5 keeps RoPE's settings in rope_parameters (4.x: rope_theta, rope_scaling)
    rope = dict(getattr(hf_config, "rope_parameters", None)
                or getattr(hf_config, "rope_scaling", None) or {})
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind != "default":
        raise ValueError(f"hf_config: only plain RoPE is supported, got rope_type={kind!r}")
    rope_base = rope.get("rope_theta", getattr(hf_config, "rope_theta", 10000.0))
    return LlamaConfig(vocab_size=hf_config.vocab_size,
                       max_len=hf_config.max_position_embeddings,
                       d_model=hf_config.hidden_size, num_heads=hf_config.num_attention_heads,
                       num_layers=hf_config.num_hidden_layers,
                       num_kv_heads=hf_config.num_key_value_heads,
                       d_ff=hf_config.intermediate_size, rope_base=float(rope_base),
                       norm_eps=hf_config.rms_norm_eps,
                       tie_embeddings=bool(getattr(hf_config, "tie_word_embeddings", False)))


def load_hf_llama_state_dict(state_dict: Mapping[str, torch.Tensor],
                             config: LlamaConfig) -> Llama:
    """A :class:`Llama` with the weights of a Hugging Face ``LlamaForCausalLM`` state dict
    (names ``model.layers.{i}.self_attn.q_proj.weight`` ...); query and key rows are
    converted with :func:`rotate_half_to_interleaved`. Raises ``ValueError`` naming a
    missing or misshapen tensor. The state dict is only read (load it with
    ``torch.load(path, weights_only=True)`` or safetensors: a pickle can run code)."""
    model = Llama(config)
    H, G = config.num_heads, config.num_kv_heads
    names = {"token_embedding.weight": "model.embed_tokens.weight",
             "final_norm.weight": "model.norm.weight"}
    for i in range(config.num_layers):
        ours, theirs = f"blocks.{i}.", f"model.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj"):
            names[f"{ours}attn.{proj}.weight"] = f"{theirs}self_attn.{proj}.weight"
        names[f"{ours}attn.out_proj.weight"] = f"{theirs}self_attn.o_proj.weight"
        for proj in ("gate_proj", "up_proj", "down_proj"):
            names[f"{ours}ffn.{proj}.weight"] = f"{theirs}mlp.{proj}.weight"
        names[f"{ours}attn_norm.weight"] = f"{theirs}input_layernorm.weight"
        names[f"{ours}ffn_norm.weight"] = f"{theirs}post_attention_layernorm.weight"
    if not config.tie_embeddings:
        names["lm_head.weight"] = "lm_head.weight"
    own = model.state_dict()
    loaded = {}
    for ours, theirs in names.items():
        if theirs not in state_dict:
            raise ValueError(f"state_dict: expected a tensor {theirs!r}, not found")
        tensor = state_dict[theirs]
        if ours.endswith("q_proj.weight"):
            tensor = rotate_half_to_interleaved(tensor, H)
        elif ours.endswith("k_proj.weight"):
            tensor = rotate_half_to_interleaved(tensor, G)
        if tuple(tensor.shape) != tuple(own[ours].shape):
            raise ValueError(f"state_dict: {theirs!r} expected shape {tuple(own[ours].shape)}, "
                             f"got {tuple(tensor.shape)}")
        loaded[ours] = tensor
    if config.tie_embeddings:
        loaded["lm_head.weight"] = loaded["token_embedding.weight"]
    model.load_state_dict(loaded, strict=True)
    return model
