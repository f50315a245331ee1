"""Benchmark lesson 07's attention variants against PyTorch's fused attention (CPU).

    .venv/bin/python benchmarks/bench_variants.py --threads 1            # full run
    .venv/bin/python benchmarks/bench_variants.py --threads 1 --clock cpu  # on a busy machine
    .venv/bin/python benchmarks/bench_variants.py --quick                # smoke run

Forward pass, causal self-attention, one head of width 64 (``(1, 1, T, 64)``), float32.
For each length: median time and ``ratio = time / torch`` (the median of per-round ratios,
timed interleaved with ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``
in the same run), and peak memory:

* ``torch-fused``: the reference;
* ``full``: the readable ``course_lib.attention.scaled_dot_product_attention`` with a
  causal mask (scores, masked softmax, weights @ v);
* ``banded``: ``course_lib.attention.local.banded_attention``, causal window 128;
* ``linear``: ``course_lib.attention.linear.causal_linear_attention``, chunks of 64;
* ``tiled-numpy``: ``course_lib.attention.tiled.tiled_attention`` (tiles of 128, float64
  NumPy; a lesson of arithmetic and memory, not speed).

Peak memory: torch's allocations recorded by ``torch.profiler`` for the torch contenders,
``tracemalloc`` for NumPy. Then the crossover lengths (the shortest length measured from
which banded/linear is faster than full attention), and KV-cache bytes per token for
MHA/GQA/MQA/latent attention at a Llama-2-7B shape, checked against allocated caches.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.analysis.measured_memory import numpy_peak_bytes, torch_peak_bytes  # noqa: E402
from course_lib.analysis.timing import interleaved_times, median_ratio  # noqa: E402
from course_lib.attention import caches as kvm  # noqa: E402
from course_lib.attention import scaled_dot_product_attention  # noqa: E402
from course_lib.attention.linear import causal_linear_attention  # noqa: E402
from course_lib.attention.local import banded_attention  # noqa: E402
from course_lib.attention.tiled import tiled_attention  # noqa: E402
from course_lib.core.masks import causal_mask  # noqa: E402
from course_lib.models.variant_lm import VariantLM, VariantLMConfig  # noqa: E402

LENGTHS = [256, 512, 1024, 2048, 4096]
QUICK_LENGTHS = [128, 256]
WINDOW, CHUNK, TILE, DH = 128, 64, 128, 64


def contenders(T: int) -> tuple[dict, dict]:
    """``(torch functions, numpy functions)`` for one length, on fixed random inputs."""
    g = torch.Generator().manual_seed(T)
    q, k, v = (torch.randn(1, 1, T, DH, generator=g) for _ in range(3))
    mask = causal_mask(T)
    qn, kn, vn = (x.double().numpy() for x in (q, k, v))
    torch_fns = {
        "torch-fused": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        "full": lambda: scaled_dot_product_attention(q, k, v, mask)[0],
        "banded": lambda: banded_attention(q, k, v, WINDOW),
        "linear": lambda: causal_linear_attention(q, k, v, CHUNK),
    }
    numpy_fns = {"tiled-numpy": lambda: tiled_attention(qn, kn, vn, TILE, causal=True)}
    return torch_fns, numpy_fns


def bench_length(T: int, repeats: int, warmup: int, with_numpy: bool, clock) -> list[tuple]:
    torch_fns, numpy_fns = contenders(T)
    fns = {**torch_fns, **(numpy_fns if with_numpy else {})}
    times = interleaved_times(fns, repeats, warmup, clock=clock)
    rows = []
    for name, fn in fns.items():
        peak = numpy_peak_bytes(fn) if name in numpy_fns else torch_peak_bytes(fn)
        rows.append((name, T, statistics.median(times[name]),
                     median_ratio(times[name], times["torch-fused"]), peak))
    return rows


def crossover(rows: list[tuple], cheap: str, dear: str) -> int | None:
    """Shortest measured length from which ``cheap`` stays faster than ``dear``."""
    median = {(name, T): t for name, T, t, _, _ in rows}
    lengths = sorted({T for _, T, *_ in rows})
    for i, T in enumerate(lengths):
        if all(median[cheap, L] < median[dear, L] for L in lengths[i:]):
            return T
    return None


def kv_cache_table() -> None:
    layers, heads, head_dim = 32, 32, 128
    print("\nKV-cache bytes per token, 32 layers x 32 query heads x 128, 16-bit:")
    print(f"{'variant':<26} {'KiB/token':>10} {'vs MHA':>7}")
    mha = kvm.kv_cache_bytes_per_token(layers, heads, head_dim)
    rows = [(f"MHA ({heads} KV heads)", mha)]
    rows += [(f"GQA ({g} KV heads)", kvm.kv_cache_bytes_per_token(layers, g, head_dim))
             for g in (8, 4)]
    rows += [("MQA (1 KV head)", kvm.kv_cache_bytes_per_token(layers, 1, head_dim)),
             ("MLA (512 latent + 64 RoPE)",
              kvm.latent_cache_bytes_per_token(layers, 512, rope_dim=64))]
    for name, per_token in rows:
        print(f"{name:<26} {per_token / 1024:>10.1f} {per_token / mha:>7.3f}")
    # The formula against caches actually allocated by a small model (float32).
    for g in (4, 2, 1):
        model = VariantLM(VariantLMConfig(vocab_size=8, max_len=64, d_model=32, num_heads=4,
                                          num_layers=2, positions="rope", num_kv_heads=g))
        caches = model.make_caches()
        with torch.no_grad():
            model(torch.zeros(1, 50, dtype=torch.long), caches=caches)
        measured = kvm.cache_bytes(caches) / 50
        expected = kvm.kv_cache_bytes_per_token(2, g, 8, bytes_per_value=4)
        status = "ok" if measured == expected else "MISMATCH"
        print(f"check: 2 layers, {g} KV head(s) of 8, float32: allocated {measured:.0f} "
              f"bytes/token, formula {expected} ({status})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two short lengths, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-numpy", action="store_true", help="skip the (slow) NumPy tiles")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: CPU seconds of this process (with --threads 1, close to a "
                             "quiet machine's wall time when the machine is busy)")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.quick and args.threads is None:
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    lengths = QUICK_LENGTHS if args.quick else LENGTHS
    repeats = args.repeats or (2 if args.quick else 7)
    warmup = 1
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, forward, causal, "
          f"(1, 1, T, {DH}) float32; {args.clock} clock, median of {repeats} interleaved runs; "
          f"ratio = median of per-round ratios to torch-fused")
    print(f"{'variant':<12} {'T':>5} {'ms':>9} {'ratio':>7} {'peak MiB':>9}")
    rows = []
    for T in lengths:
        for row in bench_length(T, repeats, warmup, not args.no_numpy, clock):
            name, _, seconds, ratio, peak = row
            print(f"{name:<12} {T:>5} {seconds * 1e3:>9.2f} {ratio:>7.2f} "
                  f"{peak / 2**20:>9.2f}", flush=True)
            rows.append(row)
    print()
    for cheap in ("banded", "linear"):
        for dear in ("full", "torch-fused"):
            T = crossover(rows, cheap, dear)
            where = f"from T = {T}" if T else "not within the lengths measured"
            print(f"crossover: {cheap} faster than {dear} {where}")
    kv_cache_table()


if __name__ == "__main__":
    main()
