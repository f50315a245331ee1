"""Search for an output sequence: greedy decoding and beam search.

Both work with any autoregressive model through one small interface, the *step function*::

    step_fn(prefix, state) -> (log_probs, state)

    prefix     (B, t) long: the tokens so far, starting with <bos>
    state      None, a tensor, or a (nested) tuple of tensors whose first axis is the batch
    log_probs  (B, V) float: log-probabilities of the next token

An RNN decoder reads only ``prefix[:, -1]`` and keeps its hidden state (and the encoder
outputs) in ``state``; a Transformer decoder reads the whole prefix and may keep a cache.
Beam search reorders ``state`` with ``index_select`` on the batch axis when beams are
pruned, so every tensor in it must be batch-first.

Scores are sums of log-probabilities. Beam search ranks finished hypotheses by
``score / length ** length_penalty`` (length counts generated tokens, ``<eos>`` included;
``length_penalty = 0`` ranks by the raw sum, which favours short outputs, Wu et al. 2016
discuss this bias). Greedy decoding is beam search with one beam and
``length_penalty = 0`` (with a penalty, one beam may still keep searching after a
hypothesis ends, to find a longer one that normalises better).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "map_state", "greedy_decode", "beam_search", "sequence_log_prob", "beam_step",
]


State = Any
StepFn = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]


def map_state(state: State, fn: Callable[[torch.Tensor], torch.Tensor]) -> State:
    """Apply ``fn`` to every tensor of a (nested tuple/list of) tensors; keep ``None``."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(s, fn) for s in state)
    raise ValueError(f"state: expected None, a tensor or a tuple of tensors, "
                     f"got {type(state).__name__}")


def _check_log_probs(log_probs: torch.Tensor, rows: int) -> None:
    if log_probs.dim() != 2 or log_probs.shape[0] != rows:
        raise ValueError(f"step_fn: expected log_probs of shape ({rows}, V), "
                         f"got {tuple(log_probs.shape)}")


def greedy_decode(step_fn: StepFn, bos_id: int, eos_id: int, batch_size: int, max_len: int,
                  state: State = None, device: torch.device | str | None = None,
                  stop_early: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick the most probable token at every step.

    Stops once every sequence has emitted ``<eos>``, unless ``stop_early=False`` (then it
    runs all ``max_len`` steps, e.g. so per-step records line up for every row).

    Returns:
        tokens: (B, L) long, the generated tokens without ``<bos>``, L <= ``max_len``;
            a sequence that ended keeps ``eos_id`` in every later position.
        scores: (B,) float, the sum of the chosen tokens' log-probabilities up to and
            including the first ``<eos>``.
    """
    if batch_size < 1 or max_len < 1:
        raise ValueError(f"batch_size, max_len: expected positive integers, got "
                         f"{batch_size}, {max_len}")
    prefix = torch.full((batch_size, 1), bos_id, dtype=torch.long, device=device)
    scores = torch.zeros(batch_size, device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    for _ in range(max_len):
        log_probs, state = step_fn(prefix, state)
        _check_log_probs(log_probs, batch_size)
        best_lp, token = log_probs.max(dim=-1)
        # A finished sequence keeps emitting <eos> and its score stops changing.
        token = torch.where(finished, torch.full_like(token, eos_id), token)
        scores = scores + torch.where(finished, torch.zeros_like(best_lp), best_lp)
        finished = finished | (token == eos_id)
        prefix = torch.cat([prefix, token[:, None]], dim=1)
        if stop_early and bool(finished.all()):
            break
    return prefix[:, 1:], scores


def beam_search(step_fn: StepFn, bos_id: int, eos_id: int, beam_size: int, max_len: int,
                state: State = None, length_penalty: float = 1.0, batch_size: int = 1,
                device: torch.device | str | None = None, return_all: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the ``beam_size`` best prefixes at every step (Graves 2012; Sutskever et al. 2014).

    Each step ranks the extensions of one item's beams with :func:`beam_step` (lesson 04's
    exercise); the rest is bookkeeping: finished hypotheses, stopping, reordering ``state``.

    ``state`` holds one row per batch item (``batch_size`` rows, or inferred from it); each
    row is repeated for the beams. A hypothesis that emits ``<eos>`` is set aside as
    finished. A batch item is done once it has ``beam_size`` finished hypotheses and no live
    beam could still beat the worst of them (log-probabilities only fall as a prefix grows,
    so the bound is exact). At ``max_len`` unfinished beams count as finished.

    Returns:
        tokens: (B, L) long, the best hypothesis per item (``eos_id``-padded after its
            ``<eos>``), or (B, K, L) with all K hypotheses, best first, if ``return_all``.
        scores: (B,) or (B, K), the length-normalised scores used for ranking.
    """
    if beam_size < 1 or max_len < 1:
        raise ValueError(f"beam_size, max_len: expected positive integers, got "
                         f"{beam_size}, {max_len}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty: expected >= 0, got {length_penalty}")
    if state is not None:
        first = _first_tensor(state)
        batch_size = first.shape[0]
        device = first.device if device is None else device
    B, K = batch_size, beam_size
    # Beams are flattened to B*K rows, row b*K + k being beam k of item b.
    state = map_state(state, lambda t: t.repeat_interleave(K, dim=0))
    prefix = torch.full((B * K, 1), bos_id, dtype=torch.long, device=device)
    beam_scores = torch.full((B, K), float("-inf"), device=device)
    beam_scores[:, 0] = 0.0  # all beams start equal: keep one, or the top K would be copies
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    done = [False] * B

    def normalise(score: float, length: int) -> float:
        return score / (length ** length_penalty)

    for step in range(1, max_len + 1):
        log_probs, state = step_fn(prefix, state)
        _check_log_probs(log_probs, B * K)
        V = log_probs.shape[-1]
        log_probs = log_probs.float().reshape(B, K, V)
        next_rows, next_tokens, next_scores = [], [], []
        for b in range(B):
            # 2K candidates guarantee K live ones even if K of them end with <eos>.
            top_scores, top_beams, top_tokens = beam_step(beam_scores[b], log_probs[b],
                                                          min(2 * K, K * V))
            live: list[tuple[int, int, float]] = []
            for score, beam, token in zip(top_scores.tolist(), top_beams.tolist(),
                                          top_tokens.tolist(), strict=True):
                if score == float("-inf"):
                    break
                if token == eos_id:
                    if not done[b]:
                        body = prefix[b * K + beam, 1:].tolist() + [eos_id]
                        finished[b].append((normalise(score, step), body))
                elif len(live) < K:
                    live.append((b * K + beam, token, score))
                if len(live) == K:
                    break
            while len(live) < K:  # too few candidates (tiny vocabulary): pad with dead beams
                live.append((b * K, eos_id, float("-inf")))
            for row, token, score in live:
                next_rows.append(row)
                next_tokens.append(token)
                next_scores.append(score)
            finished[b].sort(key=lambda item: -item[0])
            del finished[b][K:]
            best_live = live[0][2]
            # Best any live beam can still reach: its score only falls, and the normaliser
            # is largest at max_len.
            bound = best_live / (max_len ** length_penalty) if length_penalty > 0 else best_live
            worst_kept = finished[b][-1][0] if finished[b] else None
            if len(finished[b]) >= K and (best_live == float("-inf") or bound <= worst_kept):
                done[b] = True
        rows = torch.tensor(next_rows, dtype=torch.long, device=prefix.device)
        tokens = torch.tensor(next_tokens, dtype=torch.long, device=prefix.device)
        prefix = torch.cat([prefix.index_select(0, rows), tokens[:, None]], dim=1)
        state = map_state(state, lambda t, rows=rows: t.index_select(0, rows.to(t.device)))
        beam_scores = torch.tensor(next_scores, device=beam_scores.device).reshape(B, K)
        if all(done):
            break
    for b in range(B):  # unfinished beams at max_len compete as they are
        if not done[b]:
            for k in range(K):
                score = float(beam_scores[b, k])
                if score > float("-inf"):
                    finished[b].append((normalise(score, prefix.shape[1] - 1),
                                        prefix[b * K + k, 1:].tolist()))
            finished[b].sort(key=lambda item: -item[0])
            del finished[b][K:]
    return _pack(finished, K, eos_id, return_all, prefix.device)


def _first_tensor(state: State) -> torch.Tensor:
    if isinstance(state, torch.Tensor):
        return state
    for item in state:
        if item is not None:
            return _first_tensor(item)
    raise ValueError("state: expected at least one tensor in it")


def _pack(finished: list[list[tuple[float, list[int]]]], K: int, eos_id: int,
          return_all: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    B = len(finished)
    length = max(len(body) for hyps in finished for body in (h[1] for h in hyps))
    tokens = torch.full((B, K, length), eos_id, dtype=torch.long, device=device)
    scores = torch.full((B, K), float("-inf"), device=device)
    for b, hyps in enumerate(finished):
        for k, (score, body) in enumerate(hyps):
            tokens[b, k, :len(body)] = torch.tensor(body, dtype=torch.long)
            scores[b, k] = score
    if return_all:
        return tokens, scores
    return tokens[:, 0], scores[:, 0]


def sequence_log_prob(step_fn: StepFn, bos_id: int, eos_id: int, tokens: torch.Tensor,
                      state: State = None) -> torch.Tensor:
    """Sum of log-probabilities the model gives ``tokens`` (B, L), up to the first ``<eos>``.

    Used to compare what greedy and beam search found under the same model. Returns (B,).
    """
    B, L = tokens.shape
    prefix = torch.full((B, 1), bos_id, dtype=torch.long, device=tokens.device)
    total = torch.zeros(B, device=tokens.device)
    ended = torch.zeros(B, dtype=torch.bool, device=tokens.device)
    for t in range(L):
        log_probs, state = step_fn(prefix, state)
        lp = log_probs.gather(1, tokens[:, t:t + 1]).squeeze(1)
        total = total + torch.where(ended, torch.zeros_like(lp), lp)
        ended = ended | (tokens[:, t] == eos_id)
        prefix = torch.cat([prefix, tokens[:, t:t + 1]], dim=1)
    return total


def beam_step(beam_scores: torch.Tensor, log_probs: torch.Tensor, beam_size: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The heart of beam search for one sequence, without the bookkeeping.

    Args:
        beam_scores: (K,) log-probability of each live prefix.
        log_probs: (K, V) next-token log-probabilities after each prefix.
        beam_size: how many extensions to keep.

    Returns ``(scores, beams, tokens)``, each ``(beam_size,)``, best first: the new prefix
    scores, which old beam each extends, and the token it appends. The ranking is over all
    ``K * V`` extensions together, not the best few of each beam separately.
    """
    if log_probs.dim() != 2 or beam_scores.shape != (log_probs.shape[0],):
        raise ValueError(f"beam_scores, log_probs: expected shapes (K,) and (K, V), got "
                         f"{tuple(beam_scores.shape)} and {tuple(log_probs.shape)}")
    V = log_probs.shape[1]
    total = (beam_scores[:, None] + log_probs).reshape(-1)  # (K*V,) score of each extension
    scores, flat = total.topk(beam_size)
    return scores, flat // V, flat % V
