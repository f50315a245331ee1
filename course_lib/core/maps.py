"""The one container for attention maps: what every layer, stack and model returns beside its
output, ``out, maps = module(...)``, with the same keys at every level.

A key names *where* the attention sits, and its value lists one tensor per layer, in order:

* ``"encoder_self"``: self-attention that sees the whole input (an encoder, ViT);
* ``"decoder_self"``: causal self-attention (a decoder, or a decoder-only LM such as GPT);
* ``"cross"``: queries from one sequence, keys from another (a decoder reading its
  encoder, words reading image patches, a question reading a story).

A layer returns lists of one; a stack concatenates its layers' lists; an encoder-decoder
adds its encoder's and decoder's maps. So ``maps["cross"][i]`` is layer ``i``'s
cross-attention whether it came from a layer, a stack or a model. Multi-head layers give
``(B, H, T, S)``; the single-head models of lessons 03-04 give ``(B, T, S)``.

Maps are computed only when asked for (``need_weights=True``: the readable path); otherwise
the container is empty and asking it for a key says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import torch

__all__ = ["KINDS", "AttentionMaps", "NO_MAPS"]

#: The keys a map may have (see the module docstring).
KINDS = ("encoder_self", "decoder_self", "cross")


class AttentionMaps(Mapping[str, list[torch.Tensor]]):
    """Attention weights by kind, one tensor per layer: ``maps["cross"][layer]``.

    Immutable: ``a + b`` returns a new container with ``b``'s layers after ``a``'s, and
    :meth:`stack` joins the maps of consecutive layers.
    """

    __slots__ = ("_maps",)

    def __init__(self, maps: Mapping[str, Sequence[torch.Tensor]] | None = None, /,
                 **kinds: Sequence[torch.Tensor]) -> None:
        joined = {**(maps or {}), **kinds}
        for kind, layers in joined.items():
            if kind not in KINDS:
                raise ValueError(f"maps: expected keys among {KINDS}, got {kind!r}")
            if isinstance(layers, torch.Tensor):
                raise ValueError(f"maps[{kind!r}]: expected a list of tensors (one per "
                                 f"layer), got a tensor of shape {tuple(layers.shape)}")
        self._maps = {kind: list(layers) for kind, layers in joined.items() if len(layers)}

    @classmethod
    def of(cls, kind: str, weights: torch.Tensor | None) -> AttentionMaps:
        """One layer's map: ``{kind: [weights]}``, or no map when ``weights`` is ``None``
        (the fast path computed none)."""
        return NO_MAPS if weights is None else cls({kind: [weights]})

    @classmethod
    def stack(cls, layers: Iterable[AttentionMaps]) -> AttentionMaps:
        """The maps of consecutive layers joined, kind by kind, in layer order."""
        joined: dict[str, list[torch.Tensor]] = {}
        for maps in layers:
            for kind, weights in maps.items():
                joined.setdefault(kind, []).extend(weights)
        return cls(joined) if joined else NO_MAPS

    def __add__(self, other: AttentionMaps) -> AttentionMaps:
        if not isinstance(other, AttentionMaps):
            return NotImplemented
        return AttentionMaps.stack([self, other])

    def __getitem__(self, kind: str) -> list[torch.Tensor]:
        try:
            return self._maps[kind]
        except KeyError:
            have = sorted(self._maps) or "none (call with need_weights=True)"
            raise KeyError(f"no {kind!r} attention maps here; maps held: {have}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._maps)

    def __len__(self) -> int:
        return len(self._maps)

    def __repr__(self) -> str:
        parts = [f"{kind}={len(w)} x {tuple(w[0].shape)}" for kind, w in self._maps.items()]
        return f"AttentionMaps({', '.join(parts)})"


#: The empty container: what a module returns when no weights were asked for.
NO_MAPS = AttentionMaps()
