"""StoryReader: shapes, masks, an independent NumPy reference, the initial bias, learning."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.data import diary
from course_lib.models.story_reader import StoryReader, StoryReaderConfig
from course_lib.training.loop import random_batches, train


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return StoryReader(StoryReaderConfig(vocab_size=30, num_classes=4, pad_id=0, **kw)).eval()


def test_shapes_weights_sum_to_one_and_skip_padding():
    m = _model()
    question = torch.tensor([[5, 6], [7, 0]])
    story = torch.tensor([[8, 9, 10, 0], [11, 12, 13, 14]])
    logits, w = m(question, story, need_weights=True)
    assert logits.shape == (2, 4) and w.shape == (2, 6)
    assert torch.allclose(w.sum(-1), torch.ones(2))
    assert w[0, 5] == 0 and w[1, 1] == 0
    assert torch.equal(m(question, story), logits)


def test_matches_a_numpy_reference():
    m = _model(d_model=8)
    with torch.no_grad():  # move away from the identity start so the test sees the projections
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    question, story = torch.tensor([[3, 4, 0]]), torch.tensor([[5, 6, 7, 8, 0]])
    logits, w = m(question, story, need_weights=True)
    P = {k: v.detach().double().numpy() for k, v in m.state_dict().items()}
    E = P["embed.weight"]
    q = E[[3, 4]].mean(0) @ P["query.weight"].T
    ids = [3, 4, 0, 5, 6, 7, 8, 0]
    real = np.array([i != 0 for i in ids])
    k = E[ids] @ P["key.weight"].T
    s = np.where(real, k @ q / np.sqrt(8), -np.inf)
    a = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    v = E[ids] @ P["value.weight"].T + P["value.bias"]
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    h = np.maximum(0, (a @ v) @ P["answer.0.weight"].T + P["answer.0.bias"])
    expected = h @ P["answer.2.weight"].T + P["answer.2.bias"]
    assert np.allclose(w[0].detach().numpy(), a, atol=1e-6)
    assert np.allclose(logits[0].detach().numpy(), expected, atol=1e-5)


def test_at_initialisation_a_word_matches_itself():
    m = _model(d_model=16)
    _, w = m(torch.tensor([[9]]), torch.tensor([[4, 5, 9, 6, 7, 9]]), need_weights=True)
    story = w[0, 1:]
    assert set(story.argsort(descending=True)[:2].tolist()) == {2, 5}  # the two copies of 9


def test_random_start_does_not_match_words_to_themselves():
    identity, random_start = _model(), _model(qk_init="random")
    assert torch.equal(identity.query.weight, torch.eye(16))
    assert not torch.equal(random_start.query.weight, torch.eye(16))
    # the same seed gives the same other weights: only the projections differ
    assert torch.equal(identity.embed.weight, random_start.embed.weight)


def test_learns_to_count_and_looks_at_the_place_words():
    train_set = diary.make_diary_stories(1500, seed=10, max_other_visits=2)
    test_set = diary.make_diary_stories(300, seed=11, max_other_visits=2)
    vocab = train_set.vocab
    torch.manual_seed(0)
    m = StoryReader(StoryReaderConfig(vocab_size=len(vocab), num_classes=diary.MAX_VISITS + 1,
                                      pad_id=vocab.pad_id))
    batches = random_batches(train_set.questions, train_set.stories, train_set.counts,
                             batch_size=64, generator=torch.Generator().manual_seed(0))
    train(m, batches, lambda model, b: F.cross_entropy(model(b[0], b[1]), b[2]), steps=300,
          lr=1e-2, progress=False)
    m.eval()
    with torch.no_grad():
        acc = (m(test_set.questions, test_set.stories).argmax(-1) == test_set.counts).float().mean()
        _, w_all = m(test_set.questions, test_set.stories, need_weights=True)
        torch.manual_seed(0)
        untrained = StoryReader(m.config).eval()
        _, w_start = untrained(test_set.questions, test_set.stories, need_weights=True)
    # what training changed: weight moved off the question's own words onto the story
    trained_q = diary.weight_by_word_group(w_all, test_set)["question"].mean()
    start_q = diary.weight_by_word_group(w_start, test_set)["question"].mean()
    assert trained_q < 0.8 * start_q, (start_q, trained_q)
    with torch.no_grad():
        words = diary.LECTURE_STORY["zh"]
        q, s = diary.encode_stories([words], ["coffee shop"], ["zh"], vocab)
        _, w = m(q, s, need_weights=True)
    assert acc >= 0.8, acc
    share = w[0, q.shape[1]:][diary.place_word_positions(words, "coffee shop", "zh")].sum()
    assert share > 2 * len([2, 14]) / len(words), share  # well above a uniform share


def test_clear_errors():
    with pytest.raises(ValueError, match="d_model"):
        StoryReaderConfig(vocab_size=10, num_classes=2, d_model=0)
    with pytest.raises(ValueError, match="pad_id"):
        StoryReaderConfig(vocab_size=10, num_classes=2, pad_id=10)
    with pytest.raises(ValueError, match="qk_init: expected 'identity' or 'random', got 'zeros'"):
        StoryReaderConfig(vocab_size=10, num_classes=2, qk_init="zeros")
    m = _model()
    with pytest.raises(ValueError, match="story: expected shape"):
        m(torch.tensor([[1]]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="batch size"):
        m(torch.tensor([[1]]), torch.tensor([[1], [2]]))
    with pytest.raises(ValueError, match="at least one word"):
        m(torch.tensor([[0, 0]]), torch.tensor([[1, 2]]))
