"""The timing loop the bench scripts share: the best wall time of `repeats` calls, and the last
result. Scripts run as `python bench/<script>.py`, so this module is importable beside them."""
import time


def best_of(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result
