"""Diary-like stories and a counting question: the lecture's coffee-shop example, generated.

The lecture opens with a story ("Yesterday I went to the coffee shop, ordered a latte, ...,
then left the coffee shop and went home") and the question "how many times did I go to the
coffee shop?". This module writes many such stories, in English and in Chinese, so that a
model (lesson 03, :mod:`course_lib.models.story_reader`) can *learn* which words answer the
question instead of being told.

A story is a list of word tokens (Chinese is given already segmented into words, as in the
lecture's example). It is a sequence of visits to places (coffee shop, library, park,
supermarket), each ``went to the PLACE`` / ``去了 PLACE``, followed by 0-2 things done there
(drawn from one pool for all places, so they say nothing about the place) and ``left the
PLACE`` / ``离开 PLACE``, as in the lecture's story; it ends with going home. The question
asks about one place; the answer is the number of visits to it (0 to :data:`MAX_VISITS`).
Each visit names the place twice, so the answer is half the number of its mentions, and the
lecture's story (one visit, two mentions) is answered 1.

Encoding: each example is a question, given by its key words (the asked place's name in the
story's language: ``coffee shop`` or ``咖啡店``), and the story's words, both padded with
``<pad>``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from course_lib.data.vocab import Vocab

__all__ = [
    "PLACES", "MAX_VISITS", "LECTURE_STORY", "QUESTION_TEXT", "DiaryStories",
    "question_words", "diary_vocab", "generate_story", "place_word_positions",
    "encode_stories", "make_diary_stories", "WORD_GROUPS", "weight_by_word_group",
]

PLACES = ("coffee shop", "library", "park", "supermarket")
"""The places a story can visit; each is also a question."""

MAX_VISITS = 3
"""Answers are 0 .. MAX_VISITS visits to the asked place."""

_PLACE_WORDS = {
    "en": {p: p.split() for p in PLACES},
    "zh": {"coffee shop": ["咖啡店"], "library": ["图书馆"], "park": ["公园"],
           "supermarket": ["超市"]},
}

# Things done during a visit (word tokens each). One pool for every place: an activity says
# nothing about where it happened, so only the visit phrases answer the question.
_ACTIVITIES = {
    "en": ["ordered a latte", "sat by the window", "watched people outside", "met a friend",
           "read a book", "bought some bread", "wrote a letter"],
    "zh": ["点了 一杯 拿铁", "坐在 窗边", "看 外面的 行人", "见了 一个 朋友", "看了 一本 书",
           "买了 面包", "写了 一封 信"],
}

LECTURE_STORY = {
    "en": ("Yesterday I went to the coffee shop ordered a latte sat by the window watched "
           "people outside then left the coffee shop and went home").split(),
    "zh": ("昨天 我 去了 咖啡店 点了 一杯 拿铁 坐在 窗边 看 外面的 行人 然后 离开 咖啡店 "
           "回家了").split(),
}
"""The lecture's story as word tokens (punctuation dropped); one visit to the coffee shop."""

QUESTION_TEXT = {
    "en": "How many times did I go to the {place} yesterday?",
    "zh": "我昨天去了几次{place}？",
}
"""The question in words, for display; the model sees its key words, :func:`question_words`."""


def diary_vocab() -> Vocab:
    """Every word the generator (and the lecture's story) can use, both languages; ids 0-3 are
    the usual specials. Deterministic order."""
    words: list[str] = []
    for lang in ("en", "zh"):
        words += LECTURE_STORY[lang]
        for place in PLACES:
            words += _PLACE_WORDS[lang][place]
        for activity in _ACTIVITIES[lang]:
            words += activity.split()
    words += "went to the left then and home Yesterday I".split()
    words += "去了 离开 然后 回家了 昨天 我".split()
    return Vocab(words)


def generate_story(visits: Sequence[str], language: str, *, leave: Sequence[bool],
                   rng: random.Random) -> list[str]:
    """One story visiting ``visits`` in order; ``leave[i]``: say "left the PLACE" after visit i.

    Returns word tokens. Activities (0 to 2 per visit) are drawn from ``rng``.
    """
    if language not in _PLACE_WORDS:
        raise ValueError(f"language: expected 'en' or 'zh', got {language!r}")
    if not visits:
        raise ValueError("visits: expected at least one place, got none")
    if len(leave) != len(visits):
        raise ValueError(f"leave: expected {len(visits)} flags (one per visit), got {len(leave)}")
    en = language == "en"
    words = ["Yesterday", "I"] if en else ["昨天", "我"]
    for i, place in enumerate(visits):
        name = _PLACE_WORDS[language][place]
        if i > 0:
            words.append("then" if en else "然后")
        words += (["went", "to", "the"] if en else ["去了"]) + name
        for activity in rng.sample(_ACTIVITIES[language], rng.randint(0, 2)):
            words += activity.split()
        if leave[i]:
            words += (["then", "left", "the"] if en else ["然后", "离开"]) + name
    if en:
        words += ["and", "went", "home"]
    else:
        words += ["回家了"] if leave[-1] else ["然后", "回家了"]
    return words


def place_word_positions(words: Sequence[str], place: str, language: str) -> list[int]:
    """Positions (in ``words``) of every word of ``place``'s name: the words that answer
    "how many times did I go to ``place``?" (each visit names the place when arriving and,
    in the stories generated by default, when leaving)."""
    name = set(question_words(place, language))
    return [i for i, word in enumerate(words) if word in name]


@dataclass
class DiaryStories:
    """N encoded stories with a question each.

    Attributes:
        questions: (N, Q) ids of the question's key words (the asked place, in the story's
            language), padded with ``vocab.pad_id``.
        stories: (N, S) ids of the story words, padded.
        counts: (N,) the answer, visits to the asked place (0 .. MAX_VISITS).
        places: the asked place of each example.
        languages: ``"en"`` or ``"zh"`` per example.
        words: the word tokens of each story.
        vocab: the :func:`diary_vocab`.
    """

    questions: torch.Tensor
    stories: torch.Tensor
    counts: torch.Tensor
    places: list[str]
    languages: list[str]
    words: list[list[str]]
    vocab: Vocab

    def __len__(self) -> int:
        return self.stories.shape[0]


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    out = torch.full((len(rows), max(map(len, rows))), pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def question_words(place: str, language: str) -> list[str]:
    """The key words of "how many times did I go to ``place``?": the place's name."""
    if place not in PLACES:
        raise ValueError(f"place: expected one of {PLACES}, got {place!r}")
    if language not in _PLACE_WORDS:
        raise ValueError(f"language: expected 'en' or 'zh', got {language!r}")
    return list(_PLACE_WORDS[language][place])


def encode_stories(words: Sequence[Sequence[str]], places: Sequence[str],
                   languages: Sequence[str], vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """``(questions (N, Q), stories (N, S))`` ids for stories ``words`` asked about ``places``.

    Padded with ``vocab.pad_id``; unknown words raise a ValueError naming them.
    """
    if not len(words) == len(places) == len(languages):
        raise ValueError(f"places, languages: expected {len(words)} each (one per story), "
                         f"got {len(places)} and {len(languages)}")
    questions = [vocab.encode(question_words(p, lang), strict=True)
                 for p, lang in zip(places, languages, strict=True)]
    stories = [vocab.encode(w, strict=True) for w in words]
    return _pad(questions, vocab.pad_id), _pad(stories, vocab.pad_id)


def make_diary_stories(num_examples: int, *, seed: int, languages: Sequence[str] = ("en", "zh"),
                       max_other_visits: int = 3, leave_probability: float = 1.0
                       ) -> DiaryStories:
    """``num_examples`` random stories with a question each, answers balanced over 0..MAX_VISITS.

    Each story asks about a random place, visits it ``count`` times (uniform in
    0..MAX_VISITS) and visits other places 0..``max_other_visits`` times (at least one
    visit in all), in random order; each visit is followed by "left the PLACE" with
    probability ``leave_probability`` (1: always, as in the lecture's story). The language
    of each story is drawn from ``languages``.
    """
    if num_examples < 1:
        raise ValueError(f"num_examples: expected a positive integer, got {num_examples}")
    unknown = [lang for lang in languages if lang not in _PLACE_WORDS]
    if not languages or unknown:
        raise ValueError(f"languages: expected a non-empty subset of ('en', 'zh'), "
                         f"got {tuple(languages)}")
    if max_other_visits < 1:
        raise ValueError(f"max_other_visits: expected at least 1, got {max_other_visits}")
    rng = random.Random(seed)
    stories, places, langs, counts = [], [], [], []
    for _ in range(num_examples):
        place = rng.choice(PLACES)
        count = rng.randint(0, MAX_VISITS)
        others = rng.randint(1 if count == 0 else 0, max_other_visits)
        visits = [place] * count + [rng.choice([p for p in PLACES if p != place])
                                    for _ in range(others)]
        rng.shuffle(visits)
        language = rng.choice(list(languages))
        leave = [rng.random() < leave_probability for _ in visits]
        stories.append(generate_story(visits, language, leave=leave, rng=rng))
        places.append(place)
        langs.append(language)
        counts.append(count)
    vocab = diary_vocab()
    questions, story_ids = encode_stories(stories, places, langs, vocab)
    return DiaryStories(questions, story_ids, torch.tensor(counts), places, langs, stories,
                        vocab)


WORD_GROUPS = ("asked place", "other places", "question", "other words")
"""The groups :func:`weight_by_word_group` splits a reader's attention weights into."""


def weight_by_word_group(weights: torch.Tensor, data: DiaryStories) -> dict[str, torch.Tensor]:
    """Split attention weights over ``question + story`` into :data:`WORD_GROUPS`.

    ``weights (N, Q + S)``: one row per example of ``data``, the question's ``Q`` positions
    first, then the story's ``S`` (as :class:`course_lib.models.story_reader.StoryReader`
    returns them). Returns ``group -> (N,)`` totals: the story's words naming the asked
    place, the words naming any other place, the question's own words, and every other
    story word; the four add up to each row's sum.
    """
    num_q = data.questions.shape[1]
    if weights.dim() != 2 or weights.shape != (len(data), num_q + data.stories.shape[1]):
        raise ValueError(f"weights: expected shape ({len(data)}, {num_q + data.stories.shape[1]})"
                         f" (examples, question + story positions), got {tuple(weights.shape)}")
    story = weights[:, num_q:]
    asked = torch.zeros(story.shape, dtype=torch.bool)
    other = torch.zeros(story.shape, dtype=torch.bool)
    for row, (words, place, lang) in enumerate(zip(data.words, data.places, data.languages,
                                                   strict=True)):
        for name in PLACES:
            positions = place_word_positions(words, name, lang)
            (asked if name == place else other)[row, positions] = True
    totals = {"asked place": (story * asked).sum(1), "other places": (story * other).sum(1),
              "question": weights[:, :num_q].sum(1)}
    totals["other words"] = story.sum(1) - totals["asked place"] - totals["other places"]
    return totals
