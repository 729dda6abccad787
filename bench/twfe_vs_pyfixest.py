#!/usr/bin/env python3
"""Benchmark: `regstat estimate` (one process, TWFE with unit and time effects, CR1 errors) against
pyfixest's in-process fit of the same model, on a 5,000-unit x 25-period panel with 40 outcomes.

Prints the wall times, checks that both give the same coefficients and standard errors, and prints
the ratio. pyfixest is installed from PyPI for this script only; it is no dependency of regstat.

    pip install pyfixest duckdb
    scripts/cargo build --release
    python3 bench/twfe_vs_pyfixest.py [path/to/regstat]
"""
import json
import os
import subprocess
import sys
import tempfile

import duckdb
import numpy as np

from timing import best_of
import pandas as pd
import pyfixest as pf

UNITS, PERIODS, OUTCOMES, REPEATS = 5000, 25, 40, 3


def best_of_n(fn):
    return best_of(fn, REPEATS)


def panel(seed=1):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(UNITS), PERIODS)
    t = np.tile(np.arange(1, PERIODS + 1), UNITS)
    cohort = np.where(np.arange(UNITS) < UNITS // 2, rng.integers(5, 20, UNITS), 0)[unit]
    d = ((cohort > 0) & (t >= cohort)).astype(float)
    cols = {"unit": unit, "t": t, "d": d}
    alpha = rng.normal(size=UNITS)[unit]
    gamma = rng.normal(size=PERIODS)[t - 1]
    for j in range(OUTCOMES):
        cols[f"y{j}"] = alpha + gamma + (0.1 * j) * d + rng.normal(size=UNITS * PERIODS)
    return pd.DataFrame(cols)


def main():
    regstat = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/regstat/target/release/regstat")
    df = panel()
    outcomes = [f"y{j}" for j in range(OUTCOMES)]
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("parquet", "csv"):
            path = os.path.join(tmp, "panel." + fmt)
            if fmt == "parquet":
                duckdb.sql("COPY (SELECT * FROM df) TO '%s' (FORMAT parquet)" % path)
            else:
                df.to_csv(path, index=False)
            cmd = [regstat, "estimate", "--panel", path, "--unit", "unit", "--time", "t", "--outcome",
                   ",".join(outcomes), "--treat", "d", "--method", "twfe", "--cluster", "unit", "--json"]
            timings[fmt] = best_of_n(lambda: subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            timings[fmt + " bytes"] = os.path.getsize(path)
    t_regstat, out = timings["parquet"]
    t_csv, out_csv = timings["csv"]
    ours = {r["outcome"]: r["estimates"][0] for r in json.loads(out)}
    ours_csv = {r["outcome"]: r["estimates"][0] for r in json.loads(out_csv)}

    fml = " + ".join(outcomes) + " ~ d | unit + t"
    pf.feols("y0 ~ d | unit + t", data=df.head(2000), vcov={"CRV1": "unit"})  # numba compiles here, untimed

    def fit_pyfixest():
        fits = pf.feols(fml, data=df, vcov={"CRV1": "unit"})
        return {name: m.tidy() for name, m in fits.all_fitted_models.items()}

    t_pyfixest, theirs = best_of_n(fit_pyfixest)
    worst = 0.0
    for name, tidy in theirs.items():
        outcome = name.split("~")[0].strip()
        est, se = tidy.loc["d", "Estimate"], tidy.loc["d", "Std. Error"]
        for mine in (ours, ours_csv):
            worst = max(worst, abs(mine[outcome]["estimate"] - est) / abs(se), abs(mine[outcome]["se"] - se) / se)
    print(f"panel: {UNITS} units x {PERIODS} periods, {OUTCOMES} outcomes, TWFE (unit + time), CR1 by unit")
    print(f"regstat estimate (whole process, Parquet in, JSON out), best of {REPEATS}: {t_regstat:.3f} s")
    print(f"regstat estimate (whole process, CSV in ({timings['csv bytes'] / 1e6:.0f} MB), JSON out), best of {REPEATS}: {t_csv:.3f} s")
    print(f"pyfixest feols (in process, after JIT warm-up), best of {REPEATS}:        {t_pyfixest:.3f} s")
    print(f"largest disagreement: {worst:.2e} (in units of the standard error, or relative for the SE)")
    print(f"ratio pyfixest / regstat: {t_pyfixest / t_regstat:.1f}x (Parquet), {t_pyfixest / t_csv:.1f}x (CSV)")
    if worst > 1e-6:
        sys.exit("the two disagree")


if __name__ == "__main__":
    main()
