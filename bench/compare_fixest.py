#!/usr/bin/env python3
"""Cross-check: `regstat estimate` against pyfixest (feols) and wildboottest on random panels of every
kind the estimators take, plus an exact enumeration of the wild cluster bootstrap written here with
the fixed effects as dummies.

Kinds: balanced; unbalanced; singletons kept; weights; two-way clustering; no fixed effects (iid);
outcomes in the hundreds of millions; a treatment that switches off; several outcomes with their own
missing rows; a covariate collinear with the unit effects; event studies (dummies built here from the
adoption period); the 2x2 (the study's OLS); and the TWFE wild cluster restricted bootstrap, with
unit and time effects and unit clusters, enumerated (G <= 10) and drawn (G = 30).

Agreement is measured as |regstat - pyfixest| / max(1, |pyfixest|) for estimates and relative for
standard errors. For the bootstrap: exact equality with the enumeration here (which counts
|t*| >= |t|, the convention of ../shared/reference/did/README.md); wildboottest counts |t*| > |t|
strictly, but the tied patterns (the draw of all ones and its mirror) reproduce t only up to rounding,
so on enumerated draws its p-value is ours, or ours less the ties; on random draws the two must agree
within Monte Carlo error.

    python3 -m venv ~/.venvs/bench && ~/.venvs/bench/bin/pip install pyfixest wildboottest duckdb
    scripts/cargo build --release
    ~/.venvs/bench/bin/python bench/compare_fixest.py [path/to/regstat] [--panels N]

Prints each check and a summary line "N passed, M failed"; exits non-zero on a disagreement.
pyfixest and wildboottest are installed for this script only; neither is a dependency of regstat.
"""
import argparse
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

TOL = 1e-8
results = {"passed": 0, "failed": 0}
worst = {"estimate": 0.0, "se": 0.0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    if not ok:
        print(f"FAIL {name}: {detail}")


def regstat(binary, path, args):
    cmd = [binary, "estimate", "--panel", path, "--json"] + args
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{out.stderr}")
    v = json.loads(out.stdout)
    return v if isinstance(v, list) else [v]


def compare(name, ours, theirs_tidy, terms):
    for term, our_term in terms:
        est = theirs_tidy.loc[term, "Estimate"]
        se = theirs_tidy.loc[term, "Std. Error"]
        mine = next((c for c in ours["estimates"] if c["term"] == our_term), None)
        if mine is None:
            check(name, False, f"term {our_term} missing")
            continue
        de = abs(mine["estimate"] - est) / max(1.0, abs(est))
        ds = abs(mine["se"] - se) / max(se, 1e-300)
        worst["estimate"] = max(worst["estimate"], de)
        worst["se"] = max(worst["se"], ds)
        check(name, de < TOL and ds < TOL, f"{our_term}: {mine['estimate']} ({mine['se']}) vs {est} ({se})")


def random_panel(rng, units, periods, staggered=True, drop=0.0, singletons=0):
    rows = []
    cohorts = {}
    for u in range(units):
        cohorts[u] = int(rng.integers(3, periods)) if (u % 2 == 0) else 0
        if not staggered and cohorts[u]:
            cohorts[u] = periods // 2 + 1
    alpha = rng.normal(size=units)
    gamma = rng.normal(size=periods + 1)
    for u in range(units):
        ts = range(1, periods + 1) if u >= singletons else [int(rng.integers(1, periods + 1))]
        for t in ts:
            if drop and u >= singletons and rng.random() < drop:
                continue
            d = 1.0 if cohorts[u] and t >= cohorts[u] else 0.0
            rows.append({
                "unit": f"u{u:03d}", "t": t, "g": cohorts[u], "d": d,
                "x": rng.normal(), "w": rng.uniform(0.5, 3.0), "state": f"s{u % 7}",
                "y": alpha[u] + gamma[t] + (0.5 + 0.1 * (t - cohorts[u]) if d else 0.0) + rng.normal(),
            })
    return pd.DataFrame(rows)


def feols(fml, df, vcov, weights=None):
    return pf.feols(fml, data=df, vcov=vcov, weights=weights, fixef_rm="none", fixef_tol=1e-12).tidy()


def twfe_kinds(binary, tmp, rng, k):
    base = ["--unit", "unit", "--time", "t", "--treat", "d"]
    kinds = {
        "balanced": random_panel(rng, 40, 8),
        "unbalanced": random_panel(rng, 40, 8, drop=0.2),
        "singletons": random_panel(rng, 40, 8, drop=0.1, singletons=4),
    }
    for kind, df in kinds.items():
        path = os.path.join(tmp, f"{kind}{k}.csv")
        df.to_csv(path, index=False)
        ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "x", "--method", "twfe"])[0]
        compare(f"twfe {kind}", ours, feols("y ~ d + x | unit + t", df, {"CRV1": "unit"}), [("d", "d"), ("x", "x")])
    df = kinds["unbalanced"]
    path = os.path.join(tmp, f"unbalanced{k}.csv")
    ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "x", "--weights", "w", "--method", "twfe"])[0]
    compare("twfe weights", ours, feols("y ~ d + x | unit + t", df, {"CRV1": "unit"}, weights="w"), [("d", "d"), ("x", "x")])
    ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "x", "--cluster", "unit,t", "--method", "twfe"])[0]
    compare("twfe two-way clusters", ours, feols("y ~ d + x | unit + t", df, {"CRV1": "unit+t"}), [("d", "d"), ("x", "x")])
    ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "x", "--cluster", "state", "--method", "twfe"])[0]
    compare("twfe state clusters", ours, feols("y ~ d + x | unit + t", df, {"CRV1": "state"}), [("d", "d"), ("x", "x")])
    ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "x", "--fe", "none", "--method", "twfe"])[0]
    compare("no fixed effects, iid", ours, feols("y ~ d + x", df, "iid"), [("d", "d"), ("x", "x"), ("Intercept", "(Intercept)")])

    # Outcomes in the hundreds of millions (roubles). pyfixest's absolute stopping rule does not
    # converge at this scale with a tight tolerance, so the reference is its fit of the unscaled
    # data, rescaled exactly: y' = 5e8 + 3e8 y, x' = 1e7 x give d' = 3e8 d and x' = 30 x.
    big = df.assign(y=5e8 + 3e8 * df["y"], x=1e7 * df["x"])
    path = os.path.join(tmp, f"big{k}.csv")
    big.to_csv(path, index=False, float_format="%.17g")
    ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "x", "--method", "twfe"])[0]
    tidy = feols("y ~ d + x | unit + t", df, {"CRV1": "unit"}).copy()
    tidy.loc["d", ["Estimate", "Std. Error"]] *= 3e8
    tidy.loc["x", ["Estimate", "Std. Error"]] *= 30
    for c in ours["estimates"]:
        scale = 3e8 if c["term"] == "d" else 30
        c["estimate"] /= scale
        c["se"] /= scale
    tidy.loc["d", ["Estimate", "Std. Error"]] /= 3e8
    tidy.loc["x", ["Estimate", "Std. Error"]] /= 30
    compare("twfe large values (rescaled)", ours, tidy, [("d", "d"), ("x", "x")])

    # A treatment that switches off: estimated on the column as given.
    off = df.copy()
    treated_units = off.loc[off["d"] == 1, "unit"].unique()[:3]
    for u in treated_units:
        last = off.loc[off["unit"] == u, "t"].max()
        off.loc[(off["unit"] == u) & (off["t"] == last), "d"] = 0.0
    path = os.path.join(tmp, f"off{k}.csv")
    off.to_csv(path, index=False)
    ours = regstat(binary, path, base + ["--outcome", "y", "--method", "twfe"])[0]
    compare("twfe switching off", ours, feols("y ~ d | unit + t", off, {"CRV1": "unit"}), [("d", "d")])

    # Several outcomes, each with its own missing rows.
    multi = df.assign(z=df["y"] * 2 + rng.normal(size=len(df)), v=df["y"] - df["x"])
    multi.loc[multi.sample(frac=0.1, random_state=k).index, "z"] = np.nan
    multi.loc[multi.sample(frac=0.05, random_state=k + 1).index, "v"] = np.nan
    path = os.path.join(tmp, f"multi{k}.csv")
    multi.to_csv(path, index=False)
    ours = regstat(binary, path, base + ["--outcome", "y,z,v", "--covariates", "x", "--method", "twfe"])
    for mine in ours:
        o = mine["outcome"]
        compare(f"twfe outcome {o} on its own rows", mine, feols(f"{o} ~ d + x | unit + t", multi, {"CRV1": "unit"}), [("d", "d"), ("x", "x")])

    # A covariate collinear with the unit effects is dropped, as fixest drops it.
    col = df.assign(size=df["unit"].str[1:].astype(float) * 1.5)
    path = os.path.join(tmp, f"col{k}.csv")
    col.to_csv(path, index=False)
    ours = regstat(binary, path, base + ["--outcome", "y", "--covariates", "size,x", "--method", "twfe"])[0]
    check("collinear covariate dropped", ours["dropped"] == ["size"], str(ours["dropped"]))
    compare("twfe after dropping", ours, feols("y ~ d + size + x | unit + t", col, {"CRV1": "unit"}), [("d", "d"), ("x", "x")])


def event_study(binary, tmp, rng, k):
    df = random_panel(rng, 30, 9, drop=0.1)
    path = os.path.join(tmp, f"es{k}.csv")
    df.to_csv(path, index=False)
    ours = regstat(binary, path, ["--unit", "unit", "--time", "t", "--treat", "d", "--outcome", "y", "--method", "event-study", "--window", "-3,3"])[0]
    # Dummies built here: relative time to the first treated period, binned at -3 and 3, ref -1.
    first = df[df["d"] == 1].groupby("unit")["t"].min()
    rel = (df["t"] - df["unit"].map(first)).clip(-3, 3)
    names = []
    for r in sorted(rel.dropna().unique()):
        if r == -1:
            continue
        name = f"rel_m{int(-r)}" if r < 0 else f"rel_{int(r)}"
        df[name] = (rel == r).astype(float)
        names.append((name, f"rel_time::{int(r)}"))
    tidy = feols("y ~ " + " + ".join(n for n, _ in names) + " | unit + t", df, {"CRV1": "unit"})
    for name, term in names:
        mine = next(e for e in ours["event_study"] if e["rel_time"] == int(term.split("::")[1]))
        de = abs(mine["estimate"] - tidy.loc[name, "Estimate"])
        ds = abs(mine["se"] - tidy.loc[name, "Std. Error"]) / tidy.loc[name, "Std. Error"]
        worst["estimate"] = max(worst["estimate"], de)
        worst["se"] = max(worst["se"], ds)
        check("event study", de < TOL and ds < TOL, f"{term}: {mine} vs {tidy.loc[name].to_dict()}")


def two_by_two(binary, tmp, rng, k):
    df = random_panel(rng, 24, 6, staggered=False)
    path = os.path.join(tmp, f"did{k}.csv")
    df.to_csv(path, index=False)
    ours = regstat(binary, path, ["--unit", "unit", "--time", "t", "--treat", "d", "--outcome", "y", "--method", "did2x2"])[0]
    start = df.loc[df["d"] == 1, "t"].min()
    df["treated"] = df["g"].gt(0).astype(float)
    df["post"] = (df["t"] >= start).astype(float)
    df["treated_x_post"] = df["treated"] * df["post"]
    compare("did2x2", ours, feols("y ~ treated_x_post + treated + post", df, {"CRV1": "unit"}), [("treated_x_post", "treated_x_post")])


def cr1_t(X, y, cl, j):
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ beta
    bread = np.linalg.pinv(X.T @ X)
    meat = np.zeros((X.shape[1], X.shape[1]))
    for g in np.unique(cl):
        s = X[cl == g].T @ e[cl == g]
        meat += np.outer(s, s)
    v = bread @ meat @ bread
    return beta[j] / np.sqrt(v[j, j])


def bootstrap(binary, tmp, rng, k, units, reps):
    from wildboottest.wildboottest import wildboottest
    import statsmodels.formula.api as smf

    df = random_panel(rng, units, 5, staggered=True)
    path = os.path.join(tmp, f"boot{k}_{units}.csv")
    df.to_csv(path, index=False)
    ours = regstat(binary, path, ["--unit", "unit", "--time", "t", "--treat", "d", "--outcome", "y", "--method", "twfe",
                                  "--bootstrap", "wild", "--reps", str(reps), "--seed", str(k)])[0]
    b = ours["bootstrap"]
    # The model with dummies, and wildboottest on it.
    model = smf.ols("y ~ d + C(unit) + C(t)", data=df)
    wb = wildboottest(model, param="d", cluster=pd.factorize(df["unit"])[0], B=reps, seed=k, show=False)
    p_wb = float(wb["p-value"].iloc[0])
    if b["enumerated"]:
        # Exact enumeration here, counting ties.
        X = np.asarray(model.exog)
        y = np.asarray(model.endog)
        j = model.exog_names.index("d")
        cl = pd.factorize(df["unit"])[0]
        G = cl.max() + 1
        t_obs = abs(cr1_t(X, y, cl, j))
        Xr = np.delete(X, j, axis=1)
        br, *_ = np.linalg.lstsq(Xr, y, rcond=None)
        fitted, u = Xr @ br, y - Xr @ br
        at_least = ties = 0
        for pattern in range(2 ** G):
            v = np.where((pattern >> cl) & 1, -1.0, 1.0)
            t = abs(cr1_t(X, fitted + v * u, cl, j))
            at_least += t >= t_obs * (1 - 1e-12)
            ties += abs(t - t_obs) <= 1e-9 * t_obs
        p_enum = at_least / 2 ** G
        check(f"bootstrap G={G} = enumeration with dummies", abs(b["p"] - p_enum) < 1e-12, f"{b['p']} vs {p_enum}")
        # wildboottest compares strictly, but the tied draws (all ones and its mirror) reproduce t
        # only up to rounding, so it may count them or not: ours equals it, or it plus the ties.
        check(f"bootstrap G={G} = wildboottest (up to the tied draws)",
              abs(b["p"] - p_wb) < 1e-9 or abs(b["p"] - ties / 2 ** G - p_wb) < 1e-9,
              f"ours {b['p']}, ties {ties}/{2 ** G}, wildboottest {p_wb}")
    else:
        se = np.sqrt(max(b["p"] * (1 - b["p"]), 0.01) / reps)
        check(f"bootstrap G={units} within Monte Carlo error of wildboottest", abs(b["p"] - p_wb) < 5 * se + 1e-3,
              f"ours {b['p']} vs wildboottest {p_wb}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("regstat", nargs="?", default=os.path.expanduser("~/.cache/regstat/target/release/regstat"))
    parser.add_argument("--panels", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(20261123)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.panels):
            twfe_kinds(args.regstat, tmp, rng, k)
            event_study(args.regstat, tmp, rng, k)
            two_by_two(args.regstat, tmp, rng, k)
        for k, units in enumerate([6, 6, 8, 8, 10]):
            bootstrap(args.regstat, tmp, rng, k, units, 9999)
        for k in range(3):
            bootstrap(args.regstat, tmp, rng, 100 + k, 30, 9999)
    print(f"largest disagreement with pyfixest: estimates {worst['estimate']:.1e}, standard errors {worst['se']:.1e} (relative)")
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
