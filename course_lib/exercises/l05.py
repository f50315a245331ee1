"""Lesson 05's exercises: split and merge heads, the sinusoidal encoding, the causal mask,
an encoder layer's forward pass."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.attention import merge_heads, split_heads
from course_lib.attention.positions import sinusoidal_encoding
from course_lib.core import masks
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.models import transformer

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: heads

def _tokens(rng: np.random.Generator):
    """(B, T, H * Dh) with T >= 2 and H >= 2, so that a plain reshape mixes tokens."""
    B, T, H, Dh = (int(rng.integers(1, 4)), int(rng.integers(2, 6)), int(rng.integers(2, 5)),
                   int(rng.integers(1, 4)))
    return torch.from_numpy(rng.standard_normal((B, T, H * Dh))).float(), H


def _heads(rng: np.random.Generator):
    """(B, H, T, Dh), contiguous, as attention's output ``weights @ v`` is."""
    x, H = _tokens(rng)
    return (split_heads(x, H).contiguous(),)


_m = mistakes_of("l05_split_heads")
SPLIT = Check(
    name="my_split_heads",
    reference=split_heads,
    cases=[_tokens],
    mistakes=[
        _m("plain_reshape", "reshaped straight to (B, H, T, D/H): each head then mixes several "
           "tokens' features", lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h)),
        _m("no_transpose", "forgot to move the head axis: the result is (B, T, H, D/H)",
           lambda x, h: x.view(x.shape[0], x.shape[1], h, x.shape[2] // h)),
    ],
)
MERGE = Check(
    name="my_merge_heads",
    reference=merge_heads,
    cases=[_heads],
    mistakes=[
        _m("merge_plain_reshape", "reshaped (B, H, T, Dh) to (B, T, H*Dh) without moving the "
           "head axis back first", lambda x: x.reshape(x.shape[0], x.shape[2], -1)),
        _m("merge_view", "called .view after .transpose: the transposed tensor is not "
           "contiguous in memory, so use .reshape (or .contiguous().view)",
           lambda x: x.transpose(1, 2).view(x.shape[0], x.shape[2], -1)),
    ],
)


# ---------------------------------------------------------------- exercise 2: sinusoids

def _sizes(rng: np.random.Generator):
    return int(rng.integers(2, 40)), 2 * int(rng.integers(2, 12))


def _pe(max_len, d, *, exponent=lambda two_i, d: two_i / d, swap=False, blocks=False):
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    angle = pos / 10000.0 ** exponent(torch.arange(0, d, 2, dtype=torch.float64), d)
    first, second = (torch.cos(angle), torch.sin(angle)) if swap else (torch.sin(angle),
                                                                       torch.cos(angle))
    if blocks:
        return torch.cat([first, second], dim=1).float()
    pe = torch.zeros(max_len, d, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = first, second
    return pe.float()


_m = mistakes_of("l05_sinusoidal")
SINUSOIDAL = Check(
    name="my_sinusoidal_encoding",
    reference=sinusoidal_encoding,
    cases=[_sizes],
    atol=1e-4,
    mistakes=[
        _m("swapped", "swapped sine and cosine (cosines belong in the odd columns)",
           lambda n, d: _pe(n, d, swap=True)),
        _m("pair_index", "used the pair index i instead of 2i in the exponent 10000^(2i/d)",
           lambda n, d: _pe(n, d, exponent=lambda two_i, d: two_i / 2 / d)),
        _m("blocks", "put all sines first and all cosines after them instead of interleaving",
           lambda n, d: _pe(n, d, blocks=True)),
        _m("positive_exponent", "multiplied the position by 10000^(2i/d) instead of dividing "
           "by it: the frequencies must fall along the columns",
           lambda n, d: _pe(n, d, exponent=lambda two_i, d: -two_i / d)),
    ],
)


# ---------------------------------------------------------------- exercise 3: causal mask

_m = mistakes_of("l05_causal_mask")
CAUSAL = Check(
    name="my_causal_mask",
    reference=masks.causal_mask,
    cases=[lambda rng: (int(rng.integers(2, 12)),)],
    mistakes=[
        _m("polarity", "used torch.nn.MultiheadAttention's polarity (True = blocked)",
           lambda T: ~masks.causal_mask(T)),
        _m("no_diagonal", "left out the diagonal: a position must be allowed to attend to "
           "itself", lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)),
        _m("upper", "built the upper triangle: that lets each position read the future",
           lambda T: torch.ones(T, T, dtype=torch.bool).triu()),
    ],
)


# ---------------------------------------------------------------- exercise 4: encoder layer

def _layer(rng: np.random.Generator):
    torch.manual_seed(int(rng.integers(1_000_000)))
    layer = transformer.EncoderLayer(d_model=16, num_heads=4, d_ff=32).eval()
    B, S = int(rng.integers(1, 4)), int(rng.integers(2, 7))
    lengths = torch.from_numpy(rng.integers(1, S + 1, size=B))
    lengths[0] = S - 1  # at least one padded sequence
    return layer, torch.randn(B, S, 16), masks.padding_mask(lengths, max_len=S)


def _encoder_layer_reference(layer, x, mask):
    """``EncoderLayer.forward`` (post-norm) with the padding mask."""
    with torch.no_grad():
        return layer(x, key_padding_mask=mask)


def _encoder(norm="post", residual=True, mask_of=lambda m: m):
    def my_encoder_layer(layer, x, mask):
        padding = mask_of(mask)
        attend = lambda t: layer.self_attn(t, key_padding_mask=padding)[0]  # noqa: E731
        if norm == "pre":
            x = x + attend(layer.norm1(x))
            return x + layer.ffn(layer.norm2(x))
        x = layer.norm1(x + attend(x) if residual else attend(x))
        return layer.norm2(x + layer.ffn(x) if residual else layer.ffn(x))
    return my_encoder_layer


def _in_no_grad(function):
    def run(*args):
        with torch.no_grad():
            return function(*args)
    return run


_m = mistakes_of("l05_encoder_layer")
ENCODER_LAYER = Check(
    name="my_encoder_layer",
    reference=_encoder_layer_reference,
    cases=[_layer],
    adapt=_in_no_grad,
    mistakes=[
        _m("pre_norm", "normalised before each sub-layer (pre-norm); the paper's layer "
           "normalises after the residual sum", _encoder(norm="pre")),
        _m("no_residual", "left out the residual connections (x + ...)",
           _encoder(residual=False)),
        _m("flipped_mask", "flipped the padding mask (torch.nn.MultiheadAttention's polarity)",
           _encoder(mask_of=lambda m: ~m)),
        _m("no_mask", "ignored the padding mask", _encoder(mask_of=lambda m: None)),
    ],
)

EXERCISES = catalogue(
    Exercise("l05_split_heads", (SPLIT, MERGE), forbidden=(split_heads, merge_heads)),
    Exercise("l05_sinusoidal", (SINUSOIDAL,), forbidden=(sinusoidal_encoding,)),
    Exercise("l05_causal_mask", (CAUSAL,), forbidden=(masks.causal_mask,)),
    Exercise("l05_encoder_layer", (ENCODER_LAYER,),
             forbidden=(transformer.EncoderLayer.forward,)),
)
