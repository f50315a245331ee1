"""Benchmark the course's GPT: training throughput and generation with/without the KV cache.

    .venv/bin/python benchmarks/bench_gpt.py             # full run
    .venv/bin/python benchmarks/bench_gpt.py --quick     # smoke run, a few seconds

Two cases, one line each:

* ``gpt-train``: tokens per second of a training step (forward, backward, AdamW) of
  ``course_lib.models.gpt.GPT``, and ``ratio = ours / reference`` in time per step, where the
  reference is the same architecture assembled from ``torch.nn.TransformerEncoderLayer``
  (pre-norm, GELU, causal mask) with the same weights.
* ``gpt-generate``: tokens per second of :func:`course_lib.training.sampling.generate` (greedy) with
  ``use_cache=True`` and ``use_cache=False``, and the speed-up ``uncached time / cached
  time``. The context is long enough that no window cropping happens; both paths are checked
  to produce the same tokens before timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.analysis.timing import interleaved_times, median_ratio  # noqa: E402
from course_lib.models.gpt import GPT, GPTConfig  # noqa: E402
from course_lib.training.sampling import time_generation  # noqa: E402


class TorchGPT(nn.Module):
    """The reference: GPT's architecture from torch.nn.TransformerEncoderLayer blocks."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.max_len, config.d_model)
        layer = nn.TransformerEncoderLayer(config.d_model, config.num_heads, config.d_ff,
                                           dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.num_layers,
                                            norm=nn.LayerNorm(config.d_model),
                                            enable_nested_tensor=False)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.token_embedding.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        x = self.token_embedding(idx) + self.position_embedding(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        return self.lm_head(self.blocks(x, mask=mask, is_causal=True))


def copy_gpt_into_torch(ours: GPT, theirs: TorchGPT) -> None:
    """Give the reference our weights (so both compute the same function)."""
    with torch.no_grad():
        theirs.token_embedding.weight.copy_(ours.token_embedding.weight)
        theirs.position_embedding.weight.copy_(ours.position_embedding.embedding.weight)
        theirs.blocks.norm.load_state_dict(ours.final_norm.state_dict())
        for block, layer in zip(ours.blocks, theirs.blocks.layers, strict=True):
            # torch stacks the q, k, v projections into one in_proj matrix
            attn = layer.self_attn
            attn.in_proj_weight.copy_(torch.cat([block.attn.q_proj.weight,
                                                 block.attn.k_proj.weight,
                                                 block.attn.v_proj.weight]))
            attn.in_proj_bias.copy_(torch.cat([block.attn.q_proj.bias, block.attn.k_proj.bias,
                                               block.attn.v_proj.bias]))
            attn.out_proj.load_state_dict(block.attn.out_proj.state_dict())
            layer.linear1.load_state_dict(block.ffn.linear1.state_dict())
            layer.linear2.load_state_dict(block.ffn.linear2.state_dict())
            layer.norm1.load_state_dict(block.norm1.state_dict())
            layer.norm2.load_state_dict(block.norm2.state_dict())


def bench_training(config: GPTConfig, B: int, T: int, repeats: int, warmup: int
                   ) -> tuple[float, float, float]:
    torch.manual_seed(0)
    ours = GPT(config).train()
    theirs = TorchGPT(config).train()
    copy_gpt_into_torch(ours, theirs)
    idx = torch.randint(0, config.vocab_size, (B, T + 1))
    inputs, targets = idx[:, :-1], idx[:, 1:]
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs), theirs(inputs), atol=1e-4, rtol=1e-4)

    def step_of(model: nn.Module):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def run():
            optimizer.zero_grad(set_to_none=True)
            logits = model(inputs)
            nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                        targets.reshape(-1)).backward()
            optimizer.step()
        return run

    times = interleaved_times({"ours": step_of(ours), "torch": step_of(theirs)},
                              repeats=repeats, warmup=warmup)
    return (statistics.median(times["ours"]), statistics.median(times["torch"]),
            median_ratio(times["ours"], times["torch"]))


def bench_generation(config: GPTConfig, prompt_len: int, new_tokens: int, repeats: int
                     ) -> tuple[float, float, float]:
    torch.manual_seed(0)
    model = GPT(config).eval()
    prompt = torch.randint(0, config.vocab_size, (1, prompt_len))
    timed = time_generation(model, prompt, new_tokens, repeats=repeats, warmup=1)
    return timed.cached, timed.uncached, timed.speedup


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    new_tokens, prompt_len = (64, 8) if quick else (256, 16)
    config = GPTConfig(vocab_size=96, max_len=512, d_model=128, num_heads=4,
                       num_layers=2 if quick else 4)
    B, T = (4, 64) if quick else (16, 256)
    repeats = args.repeats or (3 if quick else 10)
    print(f"torch {torch.__version__}, cpu, threads {torch.get_num_threads()}, median of "
          f"{repeats} rounds; GPT d_model={config.d_model} heads={config.num_heads} "
          f"layers={config.num_layers} vocab={config.vocab_size} "
          f"context={config.max_len}, {GPT(config).num_parameters():,} parameters")

    ours, theirs, ratio = bench_training(config, B, T, repeats, 1 if quick else 2)
    print(f"gpt-train     B={B} T={T}  ours {B * T / ours:9.0f} tok/s ({1e3 * ours:.1f} ms)  "
          f"torch {B * T / theirs:9.0f} tok/s ({1e3 * theirs:.1f} ms)  "
          f"ratio ours/torch {ratio:.2f}", flush=True)

    cached, uncached, speedup = bench_generation(config, prompt_len, new_tokens, repeats)
    print(f"gpt-generate  prompt={prompt_len} new={new_tokens} B=1  "
          f"cached {new_tokens / cached:7.0f} tok/s  uncached {new_tokens / uncached:7.0f} tok/s"
          f"  speed-up {speedup:.2f}x", flush=True)


if __name__ == "__main__":
    main()
