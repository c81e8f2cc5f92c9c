"""Timing helpers shared by the time_*.py twins of `gantry bench --model`: warm-up runs,
then timed runs, and the median, as gantry's harness reports them."""

import time


def ms(fn, *args):
    """Runs fn(*args) and returns its wall time in milliseconds (the CPU backend is
    synchronous, so the clock covers the work)."""
    t = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t) * 1e3


def median(values):
    """The median, as gantry takes it: the middle of the sorted values (the upper one of
    two middles)."""
    values = sorted(values)
    return values[len(values) // 2]


def median_ms(fn, iters, warmup=2):
    """fn() run `warmup` times untimed, then the median of `iters` timed runs, in ms."""
    for _ in range(warmup):
        fn()
    return median(ms(fn) for _ in range(iters))
