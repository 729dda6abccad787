"""The timing loops the bench scripts share. Scripts run as `python bench/<script>.py`, so this
module is importable beside them.

Wall times on a small shared VM drift by 20-30% over minutes (other guests, huge pages that the
kernel has to find or zero). Timing two sides one after the other lets that drift into the ratio;
`interleaved` alternates them, so both sides see the same conditions, and reports the median
beside the best."""
import statistics
import time


def best_of(fn, repeats):
    """The best wall time of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def interleaved(fns, repeats):
    """Calls each of `fns` in turn, `repeats` rounds; returns per function its (best, median)
    wall time and last result."""
    times = [[] for _ in fns]
    results = [None for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            results[k] = fn()
            times[k].append(time.perf_counter() - start)
    return [(min(t), statistics.median(t), r) for t, r in zip(times, results)]
