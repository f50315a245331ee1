"""Benchmark lesson 10's byte-level BPE: the incremental trainer against the naive per-merge
recount, and encoding speed, on the same text in one run.

    .venv/bin/python benchmarks/bench_tokenizer.py            # full run (~1 minute)
    .venv/bin/python benchmarks/bench_tokenizer.py --quick    # smoke run

Text: the first ``--chars`` characters of Python's documentation (``pydoc_topics``, the
course corpus). Both trainers learn ``--vocab`` tokens and must return the same merges.
Times are CPU seconds (``time.process_time``): single-threaded Python, so close to a quiet
machine's wall time even on a busy one. Prints the ratio naive / incremental, then the
encoding rate (tokens and MB per second) of ``BPETokenizer.encode`` on the whole corpus with
the incremental trainer's merges, first with an empty cache and then with a warm one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.data.text import pydoc_topics_text  # noqa: E402
from course_lib.tokenizers.bpe import BPETokenizer, train_bpe, train_bpe_naive  # noqa: E402


def cpu_seconds(fn):
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=300_000)
    parser.add_argument("--vocab", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="small text, small vocabulary")
    args = parser.parse_args()
    if args.quick:
        args.chars, args.vocab = 30_000, 300
    corpus = pydoc_topics_text()
    text = corpus[: args.chars]
    size = len(text.encode())
    fast_s, fast = cpu_seconds(lambda: train_bpe(text, args.vocab, ["<|endoftext|>"]))
    naive_s, naive = cpu_seconds(lambda: train_bpe_naive(text, args.vocab, ["<|endoftext|>"]))
    if fast != naive:
        raise SystemExit("the two trainers learned different merges")
    print(f"BPE training on {size:,} bytes, vocabulary {args.vocab} "
          f"({len(fast[1])} merges), CPU seconds:")
    print(f"  incremental {fast_s:8.3f} s")
    print(f"  naive       {naive_s:8.3f} s   ratio naive / incremental = "
          f"{naive_s / fast_s:.1f}x (same merges)")
    tokenizer = BPETokenizer(*fast, ["<|endoftext|>"])
    cold_s, ids = cpu_seconds(lambda: tokenizer.encode(corpus))
    warm_s, _ = cpu_seconds(lambda: tokenizer.encode(corpus))
    mb = len(corpus.encode()) / 1e6
    for name, seconds in (("cold cache", cold_s), ("warm cache", warm_s)):
        print(f"encode {mb:.2f} MB -> {len(ids):,} tokens, {name}: {seconds:.3f} s, "
              f"{len(ids) / seconds / 1e3:,.0f}k tokens/s, {mb / seconds:.2f} MB/s")


if __name__ == "__main__":
    main()
