#!/usr/bin/env python3
"""Cross-check: `regstat estimate --method sdid|sc` against diff-diff's SyntheticDiD (a Python
implementation of R synthdid's algorithm) on random factor-model panels with one and several
treated units, and time SDID with 200 placebo replications on a 39-unit x 31-period panel (the size
of the California Proposition 99 panel of Abadie et al.).

    ~/.venvs/bench/bin/pip install diff-diff
    scripts/cargo build --release
    ~/.venvs/bench/bin/python bench/compare_synth.py [path/to/regstat]

Prints each panel's effect and weights from both and the largest differences; the standard errors
are random (placebo draws) and are compared loosely. diff-diff is installed for this script only.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def panel(rng, units, periods, treated, t0, effect):
    f = rng.normal(size=(periods, 2)).cumsum(axis=0) * 0.3
    rows = []
    for u in range(units):
        load = rng.normal(size=2)
        alpha = rng.normal()
        is_treated = u >= units - treated
        for t in range(periods):
            y = alpha + f[t] @ load + 0.3 * rng.normal() + (effect if is_treated and t >= t0 else 0.0)
            rows.append({"unit": f"u{u:02d}", "t": 2000 + t, "y": y, "d": float(is_treated and t >= t0)})
    return pd.DataFrame(rows)


def regstat(binary, path, method, extra=()):
    cmd = [binary, "estimate", "--panel", path, "--unit", "unit", "--time", "t", "--outcome", "y",
           "--treat", "d", "--method", method, "--json", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    from diff_diff import SyntheticDiD

    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/regstat/target/release/regstat")
    rng = np.random.default_rng(7)
    worst_tau = worst_w = 0.0
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, (units, periods, treated, t0) in enumerate([(20, 15, 1, 10), (30, 20, 1, 14), (25, 12, 3, 8), (39, 31, 1, 19)]):
            df = panel(rng, units, periods, treated, t0, 1.5)
            path = os.path.join(tmp, f"p{k}.csv")
            df.to_csv(path, index=False, float_format="%.17g")
            ours = regstat(binary, path, "sdid")
            theirs = SyntheticDiD(variance_method="placebo", n_bootstrap=200, seed=1).fit(
                df.assign(treated=(df["unit"] >= f"u{units - treated:02d}").astype(int)),
                outcome="y", treatment="treated", unit="unit", time="t",
                post_periods=list(range(2000 + t0, 2000 + periods)))
            tau, their_tau = ours["estimates"][0]["estimate"], theirs.att
            ow = {w["unit"]: w["weight"] for w in ours["weights"]["units"]}
            tw = theirs.unit_weights if isinstance(theirs.unit_weights, dict) else dict(theirs.unit_weights)
            dw = max(abs(ow.get(u, 0.0) - float(tw.get(u, 0.0))) for u in set(ow) | set(tw))
            worst_tau, worst_w = max(worst_tau, abs(tau - their_tau)), max(worst_w, dw)
            ok = abs(tau - their_tau) < 1e-6 and dw < 1e-6
            failures += not ok
            print(f"panel {k} ({units} units, {periods} periods, {treated} treated): sdid {tau:.6f} vs diff-diff {their_tau:.6f}; "
                  f"largest unit-weight difference {dw:.1e}; se {ours['estimates'][0]['se']:.4f} vs {theirs.se:.4f} (placebo draws differ)"
                  + ("" if ok else "  <-- DISAGREE"))
            sc = regstat(binary, path, "sc")
            print(f"          sc {sc['estimates'][0]['estimate']:.6f}, placebo-in-space p = {sc['synth_placebo']['p_value']:.3f}")
        # Speed: SDID with 200 placebo replications on 39 x 31.
        path = os.path.join(tmp, "p3.csv")
        start = time.perf_counter()
        regstat(binary, path, "sdid", ["--reps", "200"])
        print(f"sdid with 200 placebo replications, 39 units x 31 periods, whole process: {time.perf_counter() - start:.3f} s")
    print(f"largest difference: effect {worst_tau:.1e}, unit weight {worst_w:.1e}")
    print(f"{4 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
