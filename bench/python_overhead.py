"""Overhead of hdiff.denoise (Python) against the C++ denoise call it wraps.

Usage: PYTHONPATH=build/python python3 bench/python_overhead.py
Both sides denoise the same uniform-channel observations of the papers' grammar
(v = 32, m = 8, s = 2, L = 3, marginals of every level) on one thread; each
time is the median of many calls, measured in one run (docs/python.md).
"""

import statistics
import time

import numpy as np

import hdiff


def python_seconds(grammar, observed, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        hdiff.denoise(grammar, observed, "uniform", 0.3, threads=1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    grammar = hdiff.Grammar.random(v=32, classes=32, m=8, s=2, L=3, seed=0)
    print(f"{'samples':>8} {'C++ (us)':>12} {'Python (us)':>12} {'overhead (us)':>14} {'ratio':>7}")
    for count, repeats in ((10, 2000), (10_000, 21)):
        # uint32, hdiff's own token type, is read in place; the int64 default would add one conversion per call.
        observed = hdiff.corrupt(grammar, grammar.sample(count, seed=1).tokens, "uniform", 0.3, seed=2, dtype=np.uint32)
        python_seconds(grammar, observed, 3)  # warm the caches and the thread pool
        cpp = hdiff._hdiff._cpp_denoise_seconds(grammar, observed, "uniform", 0.3, repeats, threads=1)
        python = python_seconds(grammar, observed, repeats)
        print(f"{count:>8} {cpp * 1e6:>12.1f} {python * 1e6:>12.1f} {(python - cpp) * 1e6:>14.1f} "
              f"{python / cpp:>7.3f}")


if __name__ == "__main__":
    main()
