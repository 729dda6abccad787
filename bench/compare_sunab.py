#!/usr/bin/env python3
"""Cross-check: `regstat estimate --method sunab` against the regression fixest's sunab runs, built
here and fitted by pyfixest (one dummy per cohort and relative period but -1, unit and period
effects, never-treated units as reference, CR1 by unit), aggregated as fixest's `aggregate`
(cell sizes as weights, w'Vw), on ../shared/reference/did/did_sim_data.csv and on random staggered
panels; diff-diff's SunAbraham overall ATT is printed beside for information.

    ~/.venvs/bench/bin/pip install pyfixest diff-diff
    scripts/cargo build --release
    ~/.venvs/bench/bin/python bench/compare_sunab.py [path/to/regstat]
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf

warnings.filterwarnings("ignore")


def reference(df):
    d = df.copy()
    d["rel"] = np.where(d["G"] > 0, d["period"] - d["G"], np.nan)
    cells = sorted({(int(g), int(e)) for g, e in zip(d["G"], d["rel"]) if g > 0 and e != -1})
    names = []
    for g, e in cells:
        name = f"c{g}_{'m' if e < 0 else ''}{abs(e)}"
        d[name] = ((d["G"] == g) & (d["rel"] == e)).astype(float)
        names.append(((g, e), name))
    fit = pf.feols("Y ~ " + " + ".join(n for _, n in names) + " | id + period", data=d, vcov={"CRV1": "id"}, fixef_rm="none", fixef_tol=1e-12)
    coef, vcov = fit.coef(), fit._vcov
    index = {n: k for k, n in enumerate(fit.coef().index)}
    size = {c: d[n].sum() for c, n in names}
    post = [(c, n) for c, n in names if c[1] >= 0]
    w = np.zeros(len(index))
    total = sum(size[c] for c, _ in post)
    for c, n in post:
        w[index[n]] = size[c] / total
    att = float(w @ coef.values)
    se = float(np.sqrt(w @ vcov @ w))
    return {f"cohort::{g}:rel::{e}": (coef[n], fit.se()[n]) for (g, e), n in names}, att, se


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/regstat/target/release/regstat")
    here = os.path.dirname(os.path.abspath(__file__))
    panels = {"did_sim_data": pd.read_csv(os.path.join(here, "../../shared/reference/did/did_sim_data.csv"))[["id", "period", "G", "Y"]]}
    rng = np.random.default_rng(3)
    for k in range(3):
        units, periods = 120, 9
        g = rng.choice([0, 4, 6, 8], size=units)
        rows = [{"id": u, "period": t, "G": g[u], "Y": rng.normal() + 0.3 * t + (0.5 * (1 + t - g[u]) if g[u] and t >= g[u] else 0) + rng.normal()}
                for u in range(units) for t in range(1, periods + 1)]
        panels[f"random {k}"] = pd.DataFrame(rows)
    worst = 0.0
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, df in panels.items():
            path = os.path.join(tmp, "p.csv")
            df.to_csv(path, index=False, float_format="%.17g")
            out = subprocess.run([binary, "estimate", "--panel", path, "--unit", "id", "--time", "period", "--outcome", "Y",
                                  "--cohort", "G", "--method", "sunab", "--json"], capture_output=True, text=True, check=True)
            ours = json.loads(out.stdout)
            cells, att, se = reference(df)
            mine = {c["term"]: c for c in ours["estimates"]}
            diff = max(max(abs(mine[t]["estimate"] - b), abs(mine[t]["se"] - s)) for t, (b, s) in cells.items())
            diff = max(diff, abs(ours["estimates"][0]["estimate"] - att), abs(ours["estimates"][0]["se"] - se))
            worst = max(worst, diff)
            failures += diff > 1e-8
            try:
                from diff_diff import SunAbraham
                dd = SunAbraham(cluster="id").fit(df, outcome="Y", unit="id", time="period", first_treat="G")
                extra = f"; diff-diff SunAbraham ATT {dd.overall_att:.6f} ({dd.overall_se:.6f})"
            except Exception as e:  # information only
                extra = f"; diff-diff: {e}"
            print(f"{name}: {len(cells)} cells, ATT {ours['estimates'][0]['estimate']:.6f} ({ours['estimates'][0]['se']:.6f}) "
                  f"vs fixest's regression {att:.6f} ({se:.6f}); largest difference {diff:.1e}{extra}")
    print(f"largest difference: {worst:.1e}")
    print(f"{len(panels) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
