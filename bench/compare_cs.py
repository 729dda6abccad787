#!/usr/bin/env python3
"""Cross-check: `regstat estimate --method cs` against csdid (the Python port of R did) on
../shared/reference/did/did_sim_data.csv: every ATT(g,t) and the simple, group, dynamic and
calendar aggregations with their rows, estimates and analytic standard errors, for never- and
not-yet-treated controls and varying and universal base periods; then with the covariate X for
--est-method reg, ipw and dr.

    ~/.venvs/bench/bin/pip install csdid
    scripts/cargo build --release
    ~/.venvs/bench/bin/python -u bench/compare_cs.py

csdid takes minutes per configuration; it prints as it goes and the worst differences at the end.
csdid is installed for this script only; it is no dependency of regstat.
"""
import os
import json, subprocess, sys, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
from csdid.att_gt import ATTgt
df = pd.read_csv(os.path.join(os.path.dirname(__file__), "../../shared/reference/did/did_sim_data.csv"))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/regstat/target/release/regstat")
worst = {"att": 0, "se": 0}
for control in ["never", "notyet"]:
    for base in ["varying", "universal"]:
        out = subprocess.run([binary, "estimate", "--panel", os.path.join(os.path.dirname(__file__), "../../shared/reference/did/did_sim_data.csv"), "--unit", "id", "--time", "period",
                              "--outcome", "Y", "--cohort", "G", "--method", "cs", "--control", control, "--base-period", base, "--json"],
                             capture_output=True, text=True)
        if out.returncode: print(out.stderr); sys.exit(1)
        ours = json.loads(out.stdout)
        cg = "nevertreated" if control == "never" else "notyettreated"
        m = ATTgt(yname="Y", tname="period", idname="id", gname="G", data=df, control_group=[cg]).fit(est_method="dr", base_period=base, bstrap=False)
        r = m.results
        theirs = pd.DataFrame({"group": r["group"], "time": r["year"], "att": r["att"], "se": r["se"]})
        mine = pd.DataFrame(ours["att_gt"])
        j = theirs.merge(mine, on=["group", "time"], how="outer", indicator=True)
        assert (j["_merge"] == "both").all(), j[j["_merge"] != "both"]
        da = (j["att"] - j["estimate"]).abs().max(); ds = (j["se_x"] - j["se_y"]).abs().max()
        worst["att"] = max(worst["att"], da); worst["se"] = max(worst["se"], ds)
        print(f"{control} {base}: {len(j)} ATT(g,t), max |att diff| {da:.1e}, max |se diff| {ds:.1e}")
        for typec, key in [("simple", "simple"), ("group", "group"), ("dynamic", "dynamic"), ("calendar", "calendar")]:
            a = m.aggte(typec=typec, bstrap=False, cband=False)
            res = m.atte if hasattr(m, "atte") else a
            overall = res["overall_att"]; overall_se = res["overall_se"]
            mine_a = ours["aggregations"][key]
            d1 = abs(mine_a["estimate"] - overall); d2 = abs(mine_a["se"] - overall_se)
            worst["att"] = max(worst["att"], d1); worst["se"] = max(worst["se"], d2)
            rows = ""
            if typec != "simple":
                egt = np.asarray(res["egt"]); att_e = np.asarray(res["att_egt"]); se_e = np.asarray(res["se_egt"]).ravel()
                keyname = {"group": "group", "dynamic": "event_time", "calendar": "time"}[typec]
                mr = {row[keyname]: row for row in mine_a["rows"]}
                dr = max(abs(mr[int(e)]["estimate"] - a_) for e, a_ in zip(egt, att_e))
                dsr = max((abs(mr[int(e)]["se"] - s_) if not np.isnan(s_) else 0) for e, s_ in zip(egt, se_e))
                worst["att"] = max(worst["att"], dr); worst["se"] = max(worst["se"], dsr)
                rows = f"; rows: max |att diff| {dr:.1e}, |se diff| {dsr:.1e}"
            print(f"   {typec}: {mine_a['estimate']:.6f} ({mine_a['se']:.6f}) vs csdid {overall:.6f} ({overall_se:.6f}){rows}")
# With the covariate X: the three estimators of DRDID that R did calls.
for est in ["reg", "ipw", "dr"]:
    out = subprocess.run([binary, "estimate", "--panel", os.path.join(os.path.dirname(__file__), "../../shared/reference/did/did_sim_data.csv"), "--unit", "id", "--time", "period", "--outcome", "Y", "--cohort", "G",
                          "--covariates", "X", "--method", "cs", "--est-method", est, "--reps", "0", "--json"], capture_output=True, text=True)
    if out.returncode: print(out.stderr); sys.exit(1)
    ours = json.loads(out.stdout)
    m = ATTgt(yname="Y", tname="period", idname="id", gname="G", data=df, control_group=["nevertreated"], xformla="Y~X").fit(est_method=est, base_period="varying", bstrap=False)
    r = m.results
    theirs = pd.DataFrame({"group": r["group"], "time": r["year"], "att": r["att"], "se": r["se"]})
    j = theirs.merge(pd.DataFrame(ours["att_gt"]), on=["group", "time"])
    da = (j["att"] - j["estimate"]).abs().max(); ds = (j["se_x"] - j["se_y"]).abs().max()
    a = m.aggte(typec="simple", bstrap=False, cband=False)
    res = m.atte if hasattr(m, "atte") else a
    d1 = abs(ours["aggregations"]["simple"]["estimate"] - res["overall_att"]); d2 = abs(ours["aggregations"]["simple"]["se"] - res["overall_se"])
    worst["att"] = max(worst["att"], da, d1); worst["se"] = max(worst["se"], ds, d2)
    print(f"{est} with X: {len(j)} ATT(g,t), max |att diff| {da:.1e}, |se diff| {ds:.1e}; simple {ours['aggregations']['simple']['estimate']:.6f} ({ours['aggregations']['simple']['se']:.6f}) vs {res['overall_att']:.6f} ({res['overall_se']:.6f})", flush=True)
print("worst", worst)
