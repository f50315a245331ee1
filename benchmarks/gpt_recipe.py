"""Calibrate lesson 06's training recipe: train one GPT configuration, print its validation loss.

    .venv/bin/python benchmarks/gpt_recipe.py --layers 3 --batch 12 --lr 2.5e-3 --cpu-seconds 76
    .venv/bin/python benchmarks/gpt_recipe.py --layers 4 --batch 32 --lr 5e-3 --steps 400

One JSON line per run: the configuration, parameters, steps, characters read, CPU seconds,
characters per CPU-second and the full validation loss (``course_lib.data.text``'s
``evaluate_loss``, the number lesson 06 asserts). The budget is CPU seconds of one thread
(``--cpu-seconds``: the step count is set from ten timed probe steps) or a fixed number of
steps or characters; CPU time, unlike wall time, is close to what a quiet machine's wall
clock shows even while other programs run. BENCHMARKS.md has the table and the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from course_lib.data import text  # noqa: E402
from course_lib.models.gpt import GPT, GPTConfig  # noqa: E402
from course_lib.training import (
    language_model,  # noqa: E402
    schedules,  # noqa: E402
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--lr", type=float, default=2.5e-3)
    parser.add_argument("--warmup-fraction", type=float, default=0.05)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--cpu-seconds", type=float, help="CPU seconds of training")
    budget.add_argument("--steps", type=int, help="optimiser steps")
    budget.add_argument("--characters", type=int, help="characters read in training")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    corpus = text.load_corpus("pydoc_topics")
    torch.manual_seed(args.seed)
    model = GPT(GPTConfig(vocab_size=len(corpus.vocab), max_len=args.context,
                          d_model=args.d_model, num_heads=args.heads, num_layers=args.layers))
    batches = text.window_batches(corpus.train, args.batch, args.context,
                                  generator=torch.Generator().manual_seed(args.seed))

    def make_optimizer() -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99),
                                 weight_decay=args.weight_decay)

    def step(optimizer: torch.optim.Optimizer) -> None:
        loss = language_model.lm_loss(model, batches(0))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    steps = args.steps or (args.characters // (args.batch * args.context)
                           if args.characters else 0)
    if not steps:  # a CPU-time budget: time ten probe steps, then start again from scratch
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        probe_optimizer, start = make_optimizer(), time.process_time()
        for _ in range(10):
            step(probe_optimizer)
        steps = int(args.cpu_seconds / ((time.process_time() - start) / 10))
        model.load_state_dict(initial)
    optimizer = make_optimizer()
    scheduler = schedules.warmup_cosine_schedule(
        optimizer, max(1, int(args.warmup_fraction * steps)), steps, min_lr_ratio=0.1)
    start = time.process_time()
    for _ in range(steps):
        step(optimizer)
        scheduler.step()
    cpu = time.process_time() - start
    characters = steps * args.batch * args.context
    print(json.dumps({
        "d_model": args.d_model, "layers": args.layers, "heads": args.heads,
        "batch": args.batch, "lr": args.lr, "seed": args.seed, "threads": args.threads,
        "parameters": model.num_parameters(), "steps": steps, "characters": characters,
        "cpu_seconds": round(cpu, 1), "characters_per_cpu_second": round(characters / cpu),
        "val_loss": round(language_model.evaluate_loss(model, corpus.val, args.context), 4)}))


if __name__ == "__main__":
    main()
