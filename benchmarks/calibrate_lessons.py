"""Calibrate the learning targets of lessons 01-04 over several seeds: one JSON line per run.

    .venv/bin/python benchmarks/calibrate_lessons.py reader --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/calibrate_lessons.py recall --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/calibrate_lessons.py adding --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/calibrate_lessons.py reversal --seeds 0 1 2
    .venv/bin/python benchmarks/calibrate_lessons.py reviews --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/calibrate_lessons.py spirals --seeds 0 1 2 3 4

A lesson asserts its targets for one seed (seed 0) with a margin; the speaker notes quote the
range these runs print, so that the numbers in the notes come from code, not from memory.
Each experiment is the lesson's own cell, written once more with the seed as a parameter:

* ``reader`` (lesson 03): the story reader with the identity start, untrained and trained,
  and with a random start, trained: held-out accuracy, weight by word group, and the
  lecture's story asked about the coffee shop and the library;
* ``recall`` (lesson 02): first-token recall, test accuracy by model and distance;
* ``adding`` (lesson 02): the adding problem, unclipped and clipped, against predicting
  the mean;
* ``reversal`` (lesson 02): the encoder-decoder on reversal, hidden size 32 and 64 without
  attention and 32 with attention (400 steps), and 32 without attention for 1600 steps:
  per-symbol accuracy on lengths 1-4 and 13-16;
* ``reviews`` (lesson 01): the linear model, a hand-set linear rule and the MLP on the
  reviews, on the test reviews and on 20,000 fresh ones;
* ``spirals`` (lesson 01): the first and last points of the data and width curves, and the
  task's ceiling (the Bayes rule of the generator).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course_lib.data import diary, synthetic, toys  # noqa: E402
from course_lib.experiments import history, long_range  # noqa: E402
from course_lib.models.seq2seq import Seq2Seq, Seq2SeqConfig, sequence_loss  # noqa: E402
from course_lib.models.story_reader import StoryReader, StoryReaderConfig  # noqa: E402
from course_lib.training import schedules  # noqa: E402
from course_lib.training.loop import random_batches, train  # noqa: E402


def _round(value):
    if isinstance(value, dict):
        return {str(k): _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    if isinstance(value, float):
        return round(value, 3)
    return value


def _emit(record: dict) -> None:
    print(json.dumps(_round(record), ensure_ascii=False), flush=True)


def reader(seed: int) -> None:
    """Lesson 03, cells 'The same question, learned': the data seeds stay 100 and 101."""
    stories = diary.make_diary_stories(3000, seed=100, max_other_visits=2)
    held_out = diary.make_diary_stories(1000, seed=101, max_other_visits=2)
    vocab = stories.vocab

    def measure(model: StoryReader) -> dict:
        model.eval()
        with torch.no_grad():
            logits, w = model(held_out.questions, held_out.stories, need_weights=True)
        groups = diary.weight_by_word_group(w, held_out)
        lecture = {}
        for lang in ("en", "zh"):
            words = diary.LECTURE_STORY[lang]
            coffee = diary.place_word_positions(words, "coffee shop", lang)
            for place in ("coffee shop", "library"):
                q, s = diary.encode_stories([words], [place], [lang], vocab)
                with torch.no_grad():
                    out, lw = model(q, s, need_weights=True)
                lecture[f"{lang} {place}"] = [int(out.argmax()),
                                              float(lw[0, q.shape[1]:][coffee].sum())]
        return {"acc": float((logits.argmax(-1) == held_out.counts).float().mean()),
                **{g: float(v.mean()) for g, v in groups.items()}, "lecture": lecture}

    for qk_init in ("identity", "random"):
        torch.manual_seed(seed)
        model = StoryReader(StoryReaderConfig(vocab_size=len(vocab),
                                              num_classes=diary.MAX_VISITS + 1,
                                              pad_id=vocab.pad_id, qk_init=qk_init))
        untrained = measure(model)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        train(model, random_batches(stories.questions, stories.stories, stories.counts,
                                    batch_size=64, generator=torch.Generator().manual_seed(seed)),
              lambda m, b: F.cross_entropy(m(b[0], b[1]), b[2]), steps=400, optimizer=opt,
              scheduler=schedules.warmup_cosine_schedule(opt, 20, 400, 0.05), progress=False)
        _emit({"experiment": "reader", "seed": seed, "qk_init": qk_init,
               "untrained": untrained, "trained": measure(model)})


def recall(seed: int) -> None:
    """Lesson 02, section 3: the four models at the lesson's distances."""
    for T in (5, 15, 40, 70, 100):
        row = {}
        for kind in ("rnn", "lstm", "gru", "attention"):
            result = long_range.train_recall(kind, T, seed=seed, progress=False)
            row[kind] = [result.accuracy, result.history.steps[-1]]
        _emit({"experiment": "recall", "seed": seed, "T": T, "accuracy, steps": row})


def adding(seed: int) -> None:
    """Lesson 02, section 2: the adding problem with and without clipping."""
    setting = dict(length=20, steps=150, lr=0.1, spectral_radius=2.0, seed=seed, progress=False)
    unclipped, diverged = long_range.train_adding(clip_norm=None, **setting)
    clipped, clipped_diverged = long_range.train_adding(clip_norm=1.0, **setting)
    _emit({"experiment": "adding", "seed": seed, "unclipped diverged": diverged,
           "unclipped steps": len(unclipped), "clipped diverged": clipped_diverged,
           "clipped first": clipped[0], "clipped max": max(clipped),
           "clipped last 10": float(np.mean(clipped[-10:])), "predict the mean": 1 / 6})


def reversal(seed: int) -> None:
    """Lesson 02, section 4: the bottleneck and the same model with attention."""
    train_set = synthetic.reversal_task(20000, 1, 16, num_symbols=8, seed=0)
    test_set = synthetic.reversal_task(2000, 1, 16, num_symbols=8, seed=1)
    row = {}
    for name, hidden, attention, steps in (("no attention, 32", 32, False, 400),
                                           ("no attention, 64", 64, False, 400),
                                           ("attention, 32", 32, True, 400),
                                           ("no attention, 32, 4x steps", 32, False, 1600)):
        torch.manual_seed(seed)
        model = Seq2Seq(Seq2SeqConfig(src_vocab_size=train_set.vocab_size,
                                      tgt_vocab_size=train_set.vocab_size, embed_dim=16,
                                      hidden_size=hidden, attention=attention))
        train(model, random_batches(*train_set.tensors(), batch_size=64,
                                    generator=torch.Generator().manual_seed(seed)),
              sequence_loss, steps=steps, lr=1e-2, clip_norm=1.0, progress=False)
        by_length = long_range.symbol_accuracy_by_length(model, test_set)
        row[name] = [float(np.mean([by_length[n] for n in range(1, 5)])),
                     float(np.mean([by_length[n] for n in range(13, 17)]))]
    _emit({"experiment": "reversal", "seed": seed, "lengths 1-4, 13-16": row})


def reviews(seed: int) -> None:
    """Lesson 01, section 5: a linear model, a hand-set linear rule and the MLP on the
    reviews (data seeds ``seed``, ``seed + 1``, ``seed + 2``; the lesson's are 0, 1, 2)."""
    train_sentences, train_labels = toys.review_sentences(300, seed=seed)
    test_sentences, test_labels = toys.review_sentences(300, seed=seed + 1)
    many_sentences, many_labels = toys.review_sentences(20000, seed=seed + 2)
    vocabulary = toys.review_vocabulary()
    X_train = toys.bag_of_words(train_sentences, vocabulary)
    splits = {"test": (toys.bag_of_words(test_sentences, vocabulary), test_labels),
              "20000": (toys.bag_of_words(many_sentences, vocabulary), many_labels)}
    record = {"experiment": "reviews", "seed": seed}
    for name, activation, lr in (("mlp", "tanh", 2.0), ("linear", "identity", 0.5)):
        params, losses = history.train_mlp(X_train, train_labels, num_hidden=8, epochs=1500,
                                           lr=lr, activation=activation, seed=seed)
        for split, (X, labels) in splits.items():
            p = history.mlp_forward(X, params, activation)[0]
            record[f"{name} {split}"] = float(np.mean((p > 0.5) == labels))
        record[f"{name} final loss"] = losses[-1]
    hand = np.array([1.0 if w in toys.POSITIVE_WORDS else -1.0 if w in toys.NEGATORS else 0.0
                     for w in vocabulary])
    for split, (X, labels) in splits.items():
        record[f"hand rule {split}"] = float(np.mean((X @ hand > 0.5) == labels))
    _emit(record)


def spirals(seed: int) -> None:
    """Lesson 01, section 6: the ends of the data and width curves and the task's ceiling."""
    x_all, y_all = toys.two_spirals(2600, seed=seed)
    x_test, y_test = x_all[2048:], y_all[2048:]
    fit = {name: history.fit_classifier(x_all[:n], y_all[:n], x_test, y_test, width=w,
                                        steps=300, seed=seed, progress=False)
           for name, n, w in (("16 examples, width 32", 16, 32),
                              ("2048 examples, width 32", 2048, 32),
                              ("2048 examples, width 1", 2048, 1),
                              ("2048 examples, width 64", 2048, 64))}
    posterior = toys.two_spirals_posterior(x_test)
    ceiling = float(((posterior > 0.5).long() == y_test).float().mean())
    _emit({"experiment": "spirals", "seed": seed, **fit, "ceiling": ceiling})


EXPERIMENTS = {"reader": reader, "recall": recall, "adding": adding, "reversal": reversal,
               "reviews": reviews, "spirals": spirals}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for seed in args.seeds:
        EXPERIMENTS[args.experiment](seed)


if __name__ == "__main__":
    main()
