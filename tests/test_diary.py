"""Diary stories (lesson 03's coffee-shop example, learned): answers, encoding, errors."""

import random

import pytest
import torch

from course_lib.data import diary


def test_answers_count_the_visits_to_the_asked_place():
    data = diary.make_diary_stories(300, seed=0)
    assert set(data.counts.tolist()) == set(range(diary.MAX_VISITS + 1))
    for words, place, lang, count in zip(data.words, data.places, data.languages,
                                         data.counts.tolist(), strict=True):
        arrive = ["went", "to", "the"] if lang == "en" else ["去了"]
        phrase = arrive + diary.question_words(place, lang)
        arrivals = sum(words[i:i + len(phrase)] == phrase for i in range(len(words)))
        assert arrivals == count, (words, place)
        # every visit also leaves, so the place is named twice per visit
        assert len(diary.place_word_positions(words, place, lang)) == 2 * count * len(
            diary.question_words(place, lang))


def test_encoding_round_trips_and_pads():
    data = diary.make_diary_stories(50, seed=1)
    vocab = data.vocab
    assert data.stories.shape[0] == data.questions.shape[0] == len(data) == 50
    for i in range(50):
        ids = [t for t in data.stories[i].tolist() if t != vocab.pad_id]
        assert [vocab.itos[t] for t in ids] == data.words[i]
        q = [vocab.itos[t] for t in data.questions[i].tolist() if t != vocab.pad_id]
        assert q == diary.question_words(data.places[i], data.languages[i])


def test_same_seed_same_stories_and_both_languages():
    a, b = diary.make_diary_stories(40, seed=3), diary.make_diary_stories(40, seed=3)
    assert torch.equal(a.stories, b.stories) and a.places == b.places
    assert set(a.languages) == {"en", "zh"}
    assert diary.make_diary_stories(40, seed=4).words != a.words


def test_the_lecture_story_is_in_the_vocabulary_and_in_the_generator_language():
    vocab = diary.diary_vocab()
    for lang in ("en", "zh"):
        words = diary.LECTURE_STORY[lang]
        q, s = diary.encode_stories([words], ["coffee shop"], [lang], vocab)
        assert s.shape == (1, len(words)) and (s != vocab.unk_id).all()
        assert len(diary.place_word_positions(words, "coffee shop", lang)) == 2 * q.shape[1]
    # one generated visit to the coffee shop starts and ends like the lecture's story
    zh = diary.generate_story(["coffee shop"], "zh", leave=[True], rng=random.Random(0))
    assert zh[:3] == ["昨天", "我", "去了"] and zh[-3:] == ["离开", "咖啡店", "回家了"]


def test_weight_by_word_group_splits_each_row_by_hand():
    data = diary.make_diary_stories(20, seed=5)
    num_q, num_s = data.questions.shape[1], data.stories.shape[1]
    weights = torch.rand(20, num_q + num_s)
    groups = diary.weight_by_word_group(weights, data)
    assert tuple(groups) == diary.WORD_GROUPS
    assert torch.allclose(sum(groups.values()), weights.sum(1))
    for row in range(20):
        words, place, lang = data.words[row], data.places[row], data.languages[row]
        asked = diary.place_word_positions(words, place, lang)
        expected = float(weights[row, [num_q + i for i in asked]].sum())
        assert abs(float(groups["asked place"][row]) - expected) < 1e-5
        assert abs(float(groups["question"][row]) - float(weights[row, :num_q].sum())) < 1e-5
    with pytest.raises(ValueError, match=r"weights: expected shape \(20, "):
        diary.weight_by_word_group(weights[:, 1:], data)


def test_clear_errors():
    vocab = diary.diary_vocab()
    with pytest.raises(ValueError, match="place"):
        diary.question_words("moon", "en")
    with pytest.raises(ValueError, match="language"):
        diary.question_words("park", "fr")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        diary.encode_stories([["Yesterday", "I", "flew"]], ["park"], ["en"], vocab)
    with pytest.raises(ValueError, match="places, languages"):
        diary.encode_stories([["I"]], ["park", "park"], ["en"], vocab)
    with pytest.raises(ValueError, match="leave"):
        diary.generate_story(["park"], "en", leave=[], rng=random.Random(0))
    with pytest.raises(ValueError, match="languages"):
        diary.make_diary_stories(5, seed=0, languages=("fr",))
