"""Token <-> id mapping with the special tokens every sequence task here uses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

__all__ = [
    "PAD", "BOS", "EOS", "UNK", "SPECIALS", "Vocab",
]


PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


class Vocab:
    """A fixed vocabulary of string tokens (characters, here) with ids.

    Ids 0-3 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``; the given tokens follow in order,
    duplicates and specials skipped.
    """

    def __init__(self, tokens: Iterable[str], specials: Sequence[str] = SPECIALS) -> None:
        self.itos: list[str] = list(specials)
        seen = set(self.itos)
        for token in tokens:
            if token not in seen:
                seen.add(token)
                self.itos.append(token)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], specials: Sequence[str] = SPECIALS) -> Vocab:
        """Character vocabulary of ``texts``, characters in sorted order (deterministic)."""
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(sorted(chars), specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def bos_id(self) -> int:
        return self.stoi[BOS]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    def unknown(self, text: Iterable[str]) -> list[str]:
        """The tokens of ``text`` that are not in the vocabulary, in order of first use."""
        out: list[str] = []
        for token in text:
            if token not in self.stoi and token not in out:
                out.append(token)
        return out

    def encode(self, text: Iterable[str], *, add_bos: bool = False, add_eos: bool = False,
               strict: bool = False) -> list[int]:
        """Ids of ``text``'s tokens; unknown ones map to ``<unk>`` or, if ``strict``, raise."""
        if strict:
            missing = self.unknown(text)
            if missing:
                raise ValueError(f"text: characters {missing} are not in the vocabulary "
                                 f"(it has {len(self)} tokens)")
        ids = [self.stoi.get(token, self.unk_id) for token in text]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int], *, strip_specials: bool = True,
               stop_at_eos: bool = True) -> str:
        """Text of ``ids``; by default stops at ``<eos>`` and drops special tokens."""
        out: list[str] = []
        for i in ids:
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            token = self.itos[i] if 0 <= i < len(self.itos) else UNK
            if strip_specials and token in SPECIALS:
                continue
            out.append(token)
        return "".join(out)

    def pad_batch(self, sequences: Sequence[Sequence[int]],
                  length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad id lists into a ``(B, T)`` long tensor; also return the ``(B,)`` lengths."""
        lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
        length = int(lengths.max()) if length is None else length
        if int(lengths.max()) > length:
            raise ValueError(f"length: expected >= the longest sequence ({int(lengths.max())}), "
                             f"got {length}")
        batch = torch.full((len(sequences), length), self.pad_id, dtype=torch.long)
        for row, seq in enumerate(sequences):
            batch[row, :len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
        return batch, lengths
