#!/usr/bin/env python3
"""Benchmark: `regstat estimate --method cs` (one process: CSV in, every ATT(g,t), the four
aggregations and their multiplier-bootstrap uniform bands, JSON out) against diff-diff's
in-process CallawaySantAnna fit (compiled backend, analytic SEs, no bootstrap) on a
50,000-unit x 10-period staggered panel; checks the simple ATT and its SE agree to 1e-6 and
prints the ratio. diff-diff is installed for this script only.

    ~/.venvs/bench/bin/pip install diff-diff pyarrow   # pyarrow: also time the panel as Parquet
    scripts/cargo build --release
    ~/.venvs/bench/bin/python bench/cs_vs_diff_diff.py [path/to/regstat]
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from timing import interleaved
import pandas as pd

warnings.filterwarnings("ignore")
UNITS, PERIODS, REPEATS = 50_000, 10, 7


def panel(seed=1):
    rng = np.random.default_rng(seed)
    g = rng.choice([0, 4, 6, 8], size=UNITS)
    unit = np.repeat(np.arange(UNITS), PERIODS)
    t = np.tile(np.arange(1, PERIODS + 1), UNITS)
    gg = g[unit]
    effect = np.where((gg > 0) & (t >= gg), 0.5 * (1 + t - gg), 0.0)
    y = rng.normal(size=UNITS)[unit] + 0.3 * t + effect + rng.normal(size=UNITS * PERIODS)
    return pd.DataFrame({"unit": unit, "t": t, "g": gg, "y": y})


def main():
    from diff_diff import CallawaySantAnna

    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/regstat/target/release/regstat")
    df = panel()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "panel.csv")
        df.to_csv(path, index=False, float_format="%.17g")
        cmd = [binary, "estimate", "--panel", path, "--unit", "unit", "--time", "t", "--outcome", "y",
               "--cohort", "g", "--method", "cs", "--json"]
        run = lambda extra: lambda: subprocess.run(cmd + extra, check=True, capture_output=True, text=True).stdout
        # The same panel as Parquet too, when pyarrow is installed (pandas writes it).
        try:
            parquet = os.path.join(tmp, "panel.parquet")
            df.to_parquet(parquet, index=False)
            from_parquet = [cmd[0], cmd[1], "--panel", parquet] + cmd[4:] + ["--reps", "0"]
        except ImportError:
            from_parquet = None
        CallawaySantAnna().fit(df.head(20_000), outcome="y", unit="unit", time="t", first_treat="g")  # warm-up
        # Like for like: diff-diff computes no bootstrap by default; --reps 0 drops the bands.
        # The three are timed in turn, round after round, so that they see the same machine.
        sides = [run([]), run(["--reps", "0"]),
                 lambda: CallawaySantAnna().fit(df, outcome="y", unit="unit", time="t", first_treat="g")]
        if from_parquet:
            sides.append(lambda: subprocess.run(from_parquet, check=True, capture_output=True, text=True).stdout)
        timed = interleaved(sides, REPEATS)
        (t_ours, m_ours, out), (t_plain, m_plain, _), (t_theirs, m_theirs, res) = timed[:3]
    ours = json.loads(out)["aggregations"]["simple"]
    d_att, d_se = abs(ours["estimate"] - res.overall_att), abs(ours["se"] - res.overall_se)
    print(f"panel: {UNITS} units x {PERIODS} periods, cohorts 4, 6, 8 and never treated")
    print(f"regstat estimate --method cs (whole process, CSV in, ATT(g,t) + 4 aggregations + uniform bands), best of {REPEATS}: {t_ours:.3f} s (median {m_ours:.3f})")
    print(f"regstat estimate --method cs --reps 0 (the same without uniform bands), best of {REPEATS}: {t_plain:.3f} s (median {m_plain:.3f})")
    print(f"diff-diff CallawaySantAnna.fit (in process, analytic SEs), best of {REPEATS}: {t_theirs:.3f} s (median {m_theirs:.3f})")
    print(f"simple ATT {ours['estimate']:.8f} ({ours['se']:.8f}) vs {res.overall_att:.8f} ({res.overall_se:.8f}): "
          f"differences {d_att:.1e}, {d_se:.1e}")
    print(f"ratio diff-diff / regstat (best): {t_theirs / t_ours:.2f}x with bands, {t_theirs / t_plain:.2f}x without")
    print(f"ratio diff-diff / regstat (median): {m_theirs / m_ours:.2f}x with bands, {m_theirs / m_plain:.2f}x without")
    if from_parquet:
        t_pq, m_pq, out_pq = timed[3]
        d_pq = abs(json.loads(out_pq)["aggregations"]["simple"]["estimate"] - res.overall_att)
        print(f"regstat estimate --method cs --reps 0 from the same panel as Parquet, best of {REPEATS}: {t_pq:.3f} s "
              f"(median {m_pq:.3f}); ratio (best) {t_theirs / t_pq:.2f}x, (median) {m_theirs / m_pq:.2f}x; "
              f"simple ATT difference {d_pq:.1e}")
        d_att = max(d_att, d_pq)
    if d_att > 1e-6 or d_se > 1e-6:
        sys.exit("the two disagree")


if __name__ == "__main__":
    main()
