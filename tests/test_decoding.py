"""Greedy decoding and beam search against brute force and constructed examples."""

import itertools
import math

import pytest
import torch

from course_lib.training import decoding

BOS, EOS, V = 0, 1, 5


def table_step_fn(table):
    """A step function from a dict {prefix tuple (without BOS): next-token probabilities}."""
    def step(prefix, state):
        rows = []
        for row in prefix[:, 1:].tolist():
            probs = table.get(tuple(row), [0.0, 1.0] + [0.0] * (V - 2))
            rows.append(torch.tensor(probs).clamp_min(1e-12).log())
        return torch.stack(rows), state
    return step


def random_markov_step_fn(seed, vocab=V, batch=1):
    """Next-token distribution depending on (batch row, last token) through a state tensor."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, vocab, vocab, generator=g) * 2.0
    logits[:, :, BOS] = -1e9  # never emit <bos>

    def step(prefix, state):
        (rows,) = state  # (B,) which batch item each row belongs to
        lp = torch.log_softmax(logits[rows, prefix[:, -1]], dim=-1)
        return lp, state
    return step, (torch.arange(batch),)


def brute_force_best(step, state, max_len, length_penalty):
    best, best_seq = -math.inf, None
    for L in range(1, max_len + 1):
        for body in itertools.product(range(2, V), repeat=L - 1):
            for seq in (list(body) + [EOS], ) if L < max_len + 1 else ():
                lp = decoding.sequence_log_prob(step, BOS, EOS, torch.tensor([seq]), state)
                score = float(lp) / (len(seq) ** length_penalty)
                if score > best:
                    best, best_seq = score, seq
    return best, best_seq


def myopic_table():
    # Greedy takes "2" (0.6) but every continuation after it is uncertain (best 0.3);
    # "3" (0.4) is followed by <eos> with 0.9: 0.4 * 0.9 = 0.36 > 0.6 * 0.3 = 0.18.
    return {
        (): [0, 0.0, 0.6, 0.4, 0.0],
        (2,): [0, 0.25, 0.25, 0.2, 0.3],
        (3,): [0, 0.9, 0.05, 0.05, 0.0],
        (2, 4): [0, 1.0, 0, 0, 0],
    }


def test_beam_beats_myopic_greedy():
    step = table_step_fn(myopic_table())
    g_tokens, g_score = decoding.greedy_decode(step, BOS, EOS, batch_size=1, max_len=4)
    assert g_tokens[0].tolist() == [2, 4, 1]
    assert g_score.item() == pytest.approx(math.log(0.6 * 0.3 * 1.0))
    b_tokens, b_score = decoding.beam_search(step, BOS, EOS, beam_size=2, max_len=4,
                                             length_penalty=0.0)
    assert b_tokens[0].tolist()[:2] == [3, 1]  # then <eos> padding
    assert b_score.item() == pytest.approx(math.log(0.4 * 0.9))
    assert b_score.item() > g_score.item()


@pytest.mark.parametrize("seed", range(5))
def test_beam_size_one_equals_greedy(seed):
    step, state = random_markov_step_fn(seed, batch=3)
    g_tokens, g_scores = decoding.greedy_decode(step, BOS, EOS, 3, 6, state)
    b_tokens, b_scores = decoding.beam_search(step, BOS, EOS, 1, 6, state, length_penalty=0.0)
    width = max(g_tokens.shape[1], b_tokens.shape[1])
    pad = lambda t: torch.nn.functional.pad(t, (0, width - t.shape[1]), value=EOS)  # noqa: E731
    assert torch.equal(pad(g_tokens), pad(b_tokens))
    torch.testing.assert_close(g_scores, b_scores)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_exact_best_sequence(seed, length_penalty):
    # With beam >= vocabulary size nothing is pruned before max_len: beam search is exact.
    step, state = random_markov_step_fn(seed)
    best, best_seq = brute_force_best(step, state, max_len=4, length_penalty=length_penalty)
    tokens, score = decoding.beam_search(step, BOS, EOS, beam_size=V, max_len=4, state=state,
                                         length_penalty=length_penalty)
    found = tokens[0].tolist()
    found = found[:found.index(EOS) + 1] if EOS in found else found
    if EOS in found:  # brute force only lists finished sequences
        assert found == best_seq
        assert score.item() == pytest.approx(best, abs=1e-5)
    else:
        assert score.item() >= best - 1e-5


def test_batched_beam_search_equals_one_item_at_a_time():
    step, state = random_markov_step_fn(7, batch=4)
    tokens, scores = decoding.beam_search(step, BOS, EOS, 3, 6, state, length_penalty=1.0)
    for b in range(4):
        one_state = (state[0][b:b + 1],)
        t1, s1 = decoding.beam_search(step, BOS, EOS, 3, 6, one_state, length_penalty=1.0)
        body = tokens[b, :t1.shape[1]]
        assert body.tolist() == t1[0].tolist()
        assert scores[b].item() == pytest.approx(s1.item())


def test_return_all_sorted_and_state_reordered():
    step, state = random_markov_step_fn(3, batch=2)
    tokens, scores = decoding.beam_search(step, BOS, EOS, 3, 5, state, return_all=True)
    assert tokens.shape[:2] == (2, 3) and scores.shape == (2, 3)
    assert (scores[:, :-1] >= scores[:, 1:]).all()
    # each hypothesis's score equals its recomputed log-probability / length
    for b in range(2):
        for k in range(3):
            seq = tokens[b, k].tolist()
            seq = seq[:seq.index(EOS) + 1] if EOS in seq else seq
            lp = decoding.sequence_log_prob(step, BOS, EOS, torch.tensor([seq]),
                                            (state[0][b:b + 1],))
            assert scores[b, k].item() == pytest.approx(lp.item() / len(seq), abs=1e-5)


def test_greedy_stops_and_pads_with_eos():
    step = table_step_fn({(): [0, 0, 1.0, 0, 0], (2,): [0, 1.0, 0, 0, 0]})
    tokens, _ = decoding.greedy_decode(step, BOS, EOS, batch_size=2, max_len=10)
    assert tokens.tolist() == [[2, 1], [2, 1]]


def test_beam_step_ranks_over_all_beams():
    beam_scores = torch.tensor([-0.1, -2.0])
    log_probs = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]]))
    scores, beams, tokens = decoding.beam_step(beam_scores, log_probs, 2)
    assert beams.tolist() == [0, 0] and tokens.tolist() == [0, 1]
    torch.testing.assert_close(scores, beam_scores[0] + log_probs[0, :2])


def test_clear_errors():
    step = table_step_fn({})
    with pytest.raises(ValueError, match="beam_size, max_len: expected positive integers"):
        decoding.beam_search(step, BOS, EOS, 0, 5)
    with pytest.raises(ValueError, match="length_penalty: expected >= 0"):
        decoding.beam_search(step, BOS, EOS, 2, 5, length_penalty=-1)
    bad = lambda prefix, state: (torch.zeros(prefix.shape[0], 3, 1), state)  # noqa: E731
    with pytest.raises(ValueError, match=r"step_fn: expected log_probs of shape \(2, V\)"):
        decoding.greedy_decode(bad, BOS, EOS, 2, 3)
