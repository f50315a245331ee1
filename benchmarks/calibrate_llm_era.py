"""Calibrate lesson 10's learning targets over several seeds: one JSON line per run.

    .venv/bin/python benchmarks/calibrate_llm_era.py tokens --seeds 0 1 2
    .venv/bin/python benchmarks/calibrate_llm_era.py induction --seeds 0 1 2 3
    .venv/bin/python benchmarks/calibrate_llm_era.py addition --seeds 0 1 2 3

The lesson asserts its targets for seed 0 (and seed 1 for the second induction run) with a
margin; the speaker notes quote the ranges these runs print. Each experiment is the lesson's
own cells written once more with the seed as a parameter (one thread, as in the lesson):

* ``tokens`` (sections 1-2): lesson 06's GPT on characters for ``--budget`` steps, then on
  BPE tokens and the Llama-style block on BPE tokens for as many steps as fit in the same
  CPU time: validation bits per character of each;
* ``induction`` (section 3): the 2-layer attention-only model on repeated spans: the
  second-half loss curve (the phase change), the best previous-token and induction heads,
  the untrained model's scores, the gain left after ablating each kind of head, and
  few-shot accuracy with and without the induction heads;
* ``addition`` (section 4): direct and scratchpad addition at equal tokens per step:
  accuracy by number of digits and errors on the trained lengths.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from course_lib.analysis import induction as heads  # noqa: E402
from course_lib.data import arithmetic, incontext, text  # noqa: E402
from course_lib.experiments import llm_era  # noqa: E402
from course_lib.models.gpt import GPT, GPTConfig  # noqa: E402
from course_lib.models.llama import Llama, LlamaConfig  # noqa: E402
from course_lib.tokenizers.bpe import BPETokenizer  # noqa: E402
from course_lib.training import lm_loss, schedules, seeded, train  # noqa: E402


def _emit(record: dict) -> None:
    rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in record.items()}
    print(json.dumps(rounded), flush=True)


def tokens(seed: int, budget: int) -> None:
    """Sections 1-2: characters vs BPE (GPT-2 block) vs BPE (Llama block) at equal CPU time."""
    corpus = text.load_corpus()
    cut = len(corpus.train)
    train_text, val_text = corpus.text[:cut], corpus.text[cut:]
    tokenizer = BPETokenizer.train(train_text, 512, special_tokens=["<|endoftext|>"])
    train_ids = torch.tensor(tokenizer.encode(train_text))
    val_ids = torch.tensor(tokenizer.encode(val_text))
    context, batch, width = 64, 32, 96

    def fit(model, ids, steps):
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.99),
                                      weight_decay=0.01)
        scheduler = schedules.warmup_cosine_schedule(optimizer, 30, steps, min_lr_ratio=0.1)
        batches = text.window_batches(ids, batch, context,
                                      torch.Generator().manual_seed(seed + 1))
        train(model, batches, lm_loss, steps=steps, optimizer=optimizer, scheduler=scheduler,
              clip_norm=1.0, progress=False)

    with seeded(seed):
        models = {"characters": GPT(GPTConfig(vocab_size=len(corpus.vocab), max_len=context,
                                              d_model=width, num_heads=4, num_layers=2))}
    with seeded(seed):
        models["bpe_gpt"] = GPT(GPTConfig(vocab_size=len(tokenizer), max_len=context,
                                          d_model=width, num_heads=4, num_layers=2))
    with seeded(seed):
        models["bpe_llama"] = Llama(LlamaConfig(
            vocab_size=len(tokenizer), max_len=context, d_model=width, num_heads=4,
            num_kv_heads=2, num_layers=2, tie_embeddings=True))
    windows = {name: text.random_windows(corpus.train if name == "characters" else train_ids,
                                         batch, context, torch.Generator().manual_seed(0))
               for name in models}
    seconds = {name: llm_era.seconds_per_step(model, windows[name], lm_loss)
               for name, model in models.items()}
    record = {"experiment": "tokens", "seed": seed, "budget": budget}
    for name, model in models.items():
        steps = max(1, round(budget * seconds["characters"] / seconds[name]))
        ids, val = (corpus.train, corpus.val) if name == "characters" else (train_ids, val_ids)
        fit(model, ids, steps)
        record[f"{name}_steps"] = steps
        record[f"{name}_bpc"] = llm_era.bits_per_character(model, val, context, len(val_text))
    _emit(record)


def induction(seed: int, steps: int = 1200) -> None:
    """Section 3: induction heads, their ablation and few-shot prompts."""
    vocab, span = 16, 16
    probe = incontext.repeated_halves(200, span, vocab, seed=100)
    with seeded(seed):
        model = Llama(LlamaConfig(vocab_size=vocab, max_len=64, d_model=64, num_heads=4,
                                  num_layers=2, attention_only=True))
    untrained = heads.attention_maps(model, probe)
    history = train(model, incontext.span_batches(32, 32, vocab, min_span=6, max_span=16,
                                                  seed=seed),
                    lm_loss, steps=steps, lr=3e-3, eval_every=50, progress=False,
                    eval_fn=lambda m: dict(zip(("first", "second"),
                                               heads.loss_by_half(m, probe, span),
                                               strict=True)))
    at, second = history.metric("second")
    drops = [second[i] - second[i + 4] for i in range(len(second) - 4)]
    maps = heads.attention_maps(model, probe)
    prev, ind = heads.previous_token_scores(maps), heads.induction_scores(maps, span)
    every = [(layer, h) for layer in range(2) for h in range(4)]
    induction_heads = [lh for lh in every if ind[lh] > 0.3]
    previous_heads = [lh for lh in every if prev[lh] > 0.2 and lh[0] == 0]

    def gain(chosen):
        with heads.ablate_heads(model, chosen):
            first, second_half = heads.loss_by_half(model, probe, span)
        return first - second_half

    few, ablated = [], []
    for shots in range(7):
        prompts = incontext.few_shot_prompts(1000, shots, num_keys=8, num_values=8, seed=shots)
        few.append(round(llm_era.last_token_accuracy(model, prompts.x, prompts.y), 3))
        with heads.ablate_heads(model, induction_heads):
            ablated.append(round(llm_era.last_token_accuracy(model, prompts.x, prompts.y), 3))
    _emit({"experiment": "induction", "seed": seed, "second_start": second[0],
           "second_end": second[-1], "first_end": history.metric("first")[1][-1],
           "half_drop_step": next((s for s, v in zip(at, second, strict=True)
                                  if v < (second[0] + second[-1]) / 2), None),
           "sharpest_200_share": max(drops, default=0.0) / max(second[0] - second[-1], 1e-9),
           "best_previous": [*heads.best_head(prev), round(prev.max().item(), 3)],
           "best_induction": [*heads.best_head(ind), round(ind.max().item(), 3)],
           "untrained_best": max(heads.previous_token_scores(untrained).max().item(),
                                 heads.induction_scores(untrained, span).max().item()),
           "gain": gain([]), "gain_without_induction": gain(induction_heads),
           "gain_without_previous": gain(previous_heads),
           "few_shot": few, "few_shot_ablated": ablated})


def addition(seed: int, steps: int = 700, width: int = 5) -> None:
    """Section 4: direct and scratchpad addition, trained on 1-4 digits."""
    record = {"experiment": "addition", "seed": seed}
    for scratchpad in (False, True):
        start = time.process_time()
        data = arithmetic.addition_set(30_000, (1, 4), width, scratchpad, seed=seed + 10)
        batch = 1024 // data.x.shape[1]
        g = torch.Generator().manual_seed(seed)

        def batches(_step, data=data, batch=batch, g=g):
            rows = torch.randint(0, len(data.x), (batch,), generator=g)
            return data.x[rows], data.y[rows]

        with seeded(seed):
            model = GPT(GPTConfig(vocab_size=len(arithmetic.ADDITION_VOCAB) + 1, max_len=32,
                                  d_model=64, num_heads=4, num_layers=2))
        optimizer = torch.optim.AdamW(model.parameters(), lr=6e-3, weight_decay=0.01)
        scheduler = schedules.warmup_cosine_schedule(optimizer, steps // 20, steps,
                                                     min_lr_ratio=0.1)
        train(model, batches, llm_era.masked_lm_loss, steps=steps, optimizer=optimizer,
              scheduler=scheduler, progress=False)
        accuracy = [round(llm_era.addition_accuracy(model, d, width, scratchpad,
                                                    seed=100 + d), 3)
                    for d in range(1, width + 1)]
        name = "scratchpad" if scratchpad else "direct"
        record[name] = accuracy
        record[f"{name}_errors_1_4"] = round(sum(1 - a for a in accuracy[:4]) * 300)
        record[f"{name}_cpu_s"] = time.process_time() - start
    _emit(record)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["tokens", "induction", "addition"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=200,
                        help="tokens: the character model's steps (the lesson's BUDGET_STEPS)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for seed in args.seeds:
        if args.experiment == "tokens":
            tokens(seed, args.budget)
        else:
            {"induction": induction, "addition": addition}[args.experiment](seed)


if __name__ == "__main__":
    main()
