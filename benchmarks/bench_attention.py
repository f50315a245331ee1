"""Benchmark the course's attention against PyTorch's (forward + backward, CPU or GPU).

    .venv/bin/python benchmarks/bench_attention.py           # full run
    .venv/bin/python benchmarks/bench_attention.py --quick   # smoke run, a few seconds

One line per case and size: median times and ``ratio = ours / reference``, the median of
per-round ratios of timings interleaved in the same run (so background load hits both alike):

* ``mha-fast``:     MultiHeadAttention (fused path) vs torch.nn.MultiheadAttention
* ``mha-readable``: MultiHeadAttention(need_weights=True) vs torch.nn.MultiheadAttention
* ``core``:         course_lib.attention.scaled_dot_product_attention (readable) vs
                    torch.nn.functional.scaled_dot_product_attention

Sizes are ``(B, H, T, Dh)`` with ``d_model = H * Dh``; self-attention, no mask, training
mode with dropout 0 (so torch takes its general path, the one that trains).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.analysis.timing import interleaved_times, median_ratio  # noqa: E402
from course_lib.attention import (  # noqa: E402
    MultiHeadAttention,
    copy_from_torch_mha,
    scaled_dot_product_attention,
)

SIZES = [(32, 4, 64, 32), (8, 8, 256, 64), (4, 8, 512, 64), (1, 8, 2048, 64)]
QUICK_SIZES = [(4, 4, 32, 16), (2, 4, 128, 32)]


def fwd_bwd(fn, *inputs):
    """A closure running ``fn(*inputs)`` forward and backward (gradients reset each call)."""
    def run():
        for x in inputs:
            x.grad = None
        out = fn(*inputs)
        out.sum().backward()
    return run


def bench_size(B: int, H: int, T: int, Dh: int, repeats: int, warmup: int, device: str
               ) -> list[tuple[str, float, float, float]]:
    D = H * Dh
    torch.manual_seed(0)
    theirs = nn.MultiheadAttention(D, H, batch_first=True).to(device)
    ours = MultiHeadAttention(D, H).to(device)
    copy_from_torch_mha(ours, theirs)
    x = torch.randn(B, T, D, device=device, requires_grad=True)

    fast = fwd_bwd(lambda x: ours(x)[0], x)
    readable = fwd_bwd(lambda x: ours(x, need_weights=True)[0], x)
    reference = fwd_bwd(lambda x: theirs(x, x, x, need_weights=False)[0], x)
    q, k, v = (torch.randn(B, H, T, Dh, device=device, requires_grad=True) for _ in range(3))
    core = fwd_bwd(lambda q, k, v: scaled_dot_product_attention(q, k, v)[0], q, k, v)
    core_ref = fwd_bwd(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v)

    times = interleaved_times(
        {"fast": fast, "readable": readable, "torch": reference}, repeats, warmup)
    times.update(interleaved_times({"core": core, "sdpa": core_ref}, repeats, warmup))
    rows = [("mha-fast", "fast", "torch"), ("mha-readable", "readable", "torch"),
            ("core", "core", "sdpa")]
    return [(case, statistics.median(times[a]), statistics.median(times[b]),
             median_ratio(times[a], times[b])) for case, a, b in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.quick and args.threads is None:
        args.threads = 1  # a smoke run: one thread avoids oversubscribing a busy machine
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = QUICK_SIZES if args.quick else SIZES
    repeats = args.repeats or (3 if args.quick else 10)
    warmup = 1 if args.quick else 3
    if args.device.startswith("cuda"):
        print("note: GPU timings without synchronisation measure launch time only")
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, "
          f"median of {repeats} forward+backward runs, ratio = median of per-round ratios")
    print(f"{'case':<13} {'(B, H, T, Dh)':<18} {'ours ms':>9} {'ref ms':>9} {'ratio':>6}")
    for size in sizes:
        for case, ours_s, ref_s, ratio in bench_size(*size, repeats, warmup, args.device):
            print(f"{case:<13} {str(size):<18} {ours_s * 1e3:>9.2f} {ref_s * 1e3:>9.2f} "
                  f"{ratio:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
