"""Benchmark a training step of the course's Transformer against torch.nn.Transformer.

    .venv/bin/python benchmarks/bench_transformer.py             # full run
    .venv/bin/python benchmarks/bench_transformer.py --quick     # smoke run, a few seconds

One line per size: median time of one training step (forward, backward, Adam step) of
``course_lib.models.transformer.Transformer`` and of ``torch.nn.Transformer(batch_first=True)``
with the same weights, and ``ratio = ours / torch`` (median of per-round ratios of
interleaved timings, so background load hits both alike; below 1 means ours is faster).
The batch is realistic: padded sources and targets, a causal target mask, dropout 0,
training mode (torch's inference fast path does not apply to training).
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
from course_lib.core.masks import causal_mask, padding_mask  # noqa: E402
from course_lib.models.transformer import (  # noqa: E402
    Transformer,
    TransformerConfig,
    copy_from_torch_transformer,
)

# (d_model, heads, encoder layers, decoder layers, d_ff, B, S = T)
SIZES = [(128, 4, 2, 2, 512, 32, 32), (256, 8, 4, 4, 1024, 16, 64)]
QUICK_SIZES = [(64, 4, 1, 1, 256, 8, 16)]


def training_step(model: nn.Module, optimizer: torch.optim.Optimizer, call):
    """A closure doing one forward + backward + Adam step of ``model`` through ``call``."""
    def run():
        optimizer.zero_grad(set_to_none=True)
        out = call(model)
        out.square().mean().backward()  # any scalar loss exercises the same backward pass
        optimizer.step()
    return run


def bench_size(d_model: int, heads: int, n_enc: int, n_dec: int, d_ff: int, B: int, L: int,
               repeats: int, warmup: int, device: str) -> tuple[float, float, float]:
    torch.manual_seed(0)
    theirs = nn.Transformer(d_model, heads, n_enc, n_dec, d_ff, dropout=0.0,
                            batch_first=True).to(device).train()
    ours = Transformer(TransformerConfig(d_model=d_model, num_heads=heads, num_encoder_layers=n_enc,
                                         num_decoder_layers=n_dec, d_ff=d_ff)).to(device).train()
    copy_from_torch_transformer(ours, theirs)
    src = torch.randn(B, L, d_model, device=device)
    tgt = torch.randn(B, L, d_model, device=device)
    lengths = torch.randint(L // 2, L + 1, (B,))
    real = padding_mask(lengths, L).to(device)        # ours: True = real token
    causal = causal_mask(L, device=device)             # ours: True = may attend

    def call_ours(model):
        return model(src, tgt, tgt_mask=causal, src_key_padding_mask=real,
                     tgt_key_padding_mask=real, memory_key_padding_mask=real)

    def call_torch(model):  # torch's bool masks mean "ignore": the flipped ones
        return model(src, tgt, tgt_mask=~causal, src_key_padding_mask=~real,
                     tgt_key_padding_mask=~real, memory_key_padding_mask=~real)

    with torch.no_grad():  # same function before timing
        torch.testing.assert_close(call_ours(ours), call_torch(theirs), atol=1e-4, rtol=1e-4)
    steps = {
        "ours": training_step(ours, torch.optim.Adam(ours.parameters(), lr=1e-4), call_ours),
        "torch": training_step(theirs, torch.optim.Adam(theirs.parameters(), lr=1e-4),
                               call_torch),
    }
    times = interleaved_times(steps, repeats=repeats, warmup=warmup)
    return (statistics.median(times["ours"]), statistics.median(times["torch"]),
            median_ratio(times["ours"], times["torch"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = QUICK_SIZES if args.quick else SIZES
    repeats = args.repeats or (3 if args.quick else 15)
    warmup = 1 if args.quick else 3
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, "
          f"median of {repeats} rounds; training step = forward + backward + Adam")
    for d_model, heads, n_enc, n_dec, d_ff, B, L in sizes:
        ours, theirs, ratio = bench_size(d_model, heads, n_enc, n_dec, d_ff, B, L,
                                         repeats, warmup, args.device)
        print(f"transformer-train  D={d_model} H={heads} layers={n_enc}+{n_dec} d_ff={d_ff} "
              f"B={B} S=T={L}  ours {1e3 * ours:8.2f} ms  torch {1e3 * theirs:8.2f} ms  "
              f"ratio {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
