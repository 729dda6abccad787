#!/usr/bin/env python3
"""Benchmark: `regstat extract` (whole process: open, parse every sheet, resolve regions, write the
output) against a plain openpyxl reading of the same grids (whole process: load the workbook
read-only and visit every cell's value), over the corpus's Rosstat workbooks. Prints each side's
best-of-N wall time and the ratio. openpyxl is installed for this script only.

    ~/.venvs/bench/bin/pip install openpyxl
    scripts/cargo build --release
    ~/.venvs/bench/bin/python bench/extract_vs_openpyxl.py [path/to/regstat] [csv|parquet|jsonl]
"""
import glob
import os
import subprocess
import sys
import tempfile

from timing import interleaved

REPEATS = 7
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus", "rosstat")

OPENPYXL = """
import sys, openpyxl
n = 0
for path in sys.argv[1:]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if v is not None:
                    n += 1
print(n)
"""


def run(cmd, check):
    return lambda: subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/regstat/target/release/regstat")
    fmt = sys.argv[2] if len(sys.argv) > 2 else "csv"
    files = sorted(glob.glob(os.path.join(CORPUS, "*.xlsx")))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out." + fmt)
        ours = theirs = ours_median = theirs_median = 0.0
        for f in files:
            # Exit code 1 means some cell had a problem; the corpus has none, but do not fail on it.
            # The two sides in turn, round after round, so that they see the same machine.
            (best_ours, median_ours, _), (best_theirs, median_theirs, _) = interleaved(
                [run([binary, "extract", f, "--out", out], check=False),
                 run([sys.executable, "-c", OPENPYXL, f], check=True)],
                REPEATS)
            ours, ours_median = ours + best_ours, ours_median + median_ours
            theirs, theirs_median = theirs + best_theirs, theirs_median + median_theirs
    print(f"{len(files)} corpus workbooks, best of {REPEATS} per file (the two sides interleaved), summed")
    print(f"regstat extract --out *.{fmt} (whole process): {ours:.3f} s (medians summed {ours_median:.3f})")
    print(f"openpyxl read-only, every cell visited (whole process): {theirs:.3f} s (medians summed {theirs_median:.3f})")
    print(f"ratio openpyxl / regstat: {theirs / ours:.1f}x (of the medians {theirs_median / ours_median:.1f}x)")


if __name__ == "__main__":
    main()
