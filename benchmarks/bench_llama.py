"""Benchmark lesson 10's modern decoder block against lesson 06's GPT-2 block: one training
step (forward, backward, AdamW update) at about equal parameters, CPU.

    .venv/bin/python benchmarks/bench_llama.py --threads 1
    .venv/bin/python benchmarks/bench_llama.py --quick

Both models: vocabulary 512, context 64, batch 32, 2 layers, width ``--width``, 4 heads, tied
embeddings. GPT: LayerNorm, GELU feed-forward of width 4d, learned positions, biases.
Llama: RMSNorm, SwiGLU of width ~8/3 d, RoPE, 2 key/value heads, no biases. Steps are timed
interleaved (``course_lib.analysis.timing.interleaved_times``) in CPU seconds, and the
ratio Llama / GPT is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.analysis.timing import interleaved_times, median_ratio  # noqa: E402
from course_lib.models.gpt import GPT, GPTConfig  # noqa: E402
from course_lib.models.llama import Llama, LlamaConfig  # noqa: E402
from course_lib.training.language_model import lm_loss  # noqa: E402


def step_fn(model, batch):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        loss = lm_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 3
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    V, T, B, D = 512, 64, 32, args.width
    gpt = GPT(GPTConfig(vocab_size=V, max_len=T, d_model=D, num_heads=4, num_layers=2))
    llama = Llama(LlamaConfig(vocab_size=V, max_len=T, d_model=D, num_heads=4, num_kv_heads=2,
                              num_layers=2, tie_embeddings=True))
    x = torch.randint(0, V, (B, T + 1))
    batch = (x[:, :-1], x[:, 1:])
    times = interleaved_times({"gpt": step_fn(gpt, batch), "llama": step_fn(llama, batch)},
                              repeats=args.repeats, warmup=3, clock=time.process_time)
    print(f"one training step, batch {B} x {T} tokens, width {D}, {args.threads} thread(s), "
          f"CPU seconds:")
    for name, model in (("gpt", gpt), ("llama", llama)):
        print(f"  {name:6s} {model.num_parameters():>8,} parameters, median "
              f"{statistics.median(times[name]) * 1e3:7.2f} ms")
    print(f"ratio llama / gpt = {median_ratio(times['llama'], times['gpt']):.2f}")


if __name__ == "__main__":
    main()
