//! The estimators against numbers published by R fixest and by Card & Krueger
//! (../shared/reference/did/README.md).

use std::collections::HashMap;
use std::path::PathBuf;

use regstat_estimate::{fit, DemeanOptions, Design, Factor, VcovSpec};

fn read_csv(name: &str) -> Vec<HashMap<String, String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/did")
        .join(name);
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or(f64::NAN)
}

fn assert_6(actual: f64, published: f64, what: &str) {
    assert!(
        (actual - published).abs() < 5e-7,
        "{what}: {actual:.7} vs published {published}"
    );
}

struct BaseDid {
    y: Vec<f64>,
    x1: Vec<f64>,
    id: Factor,
    period: Factor,
    periods: Vec<i64>,
    treat: Vec<f64>,
}

fn base_did() -> BaseDid {
    let rows = read_csv("base_did.csv");
    BaseDid {
        y: rows.iter().map(|r| num(r, "y")).collect(),
        x1: rows.iter().map(|r| num(r, "x1")).collect(),
        id: Factor::from_labels(
            "id",
            &rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(),
        ),
        period: Factor::from_labels(
            "period",
            &rows.iter().map(|r| r["period"].clone()).collect::<Vec<_>>(),
        ),
        periods: rows.iter().map(|r| r["period"].parse().unwrap()).collect(),
        treat: rows.iter().map(|r| num(r, "treat")).collect(),
    }
}

#[test]
fn fixest_event_study_on_base_did() {
    // feols(y ~ x1 + i(period, treat, 5) | id + period, base_did), clustered by id.
    let d = base_did();
    let mut regressors = vec![("x1".to_string(), d.x1.clone())];
    for p in (1..=10).filter(|p| *p != 5) {
        let col = d
            .periods
            .iter()
            .zip(&d.treat)
            .map(|(t, tr)| if *t == p { *tr } else { 0.0 })
            .collect();
        regressors.push((format!("period::{p}:treat"), col));
    }
    let design = Design {
        outcomes: vec![("y".into(), d.y.clone())],
        regressors,
        fixed_effects: vec![d.id.clone(), d.period.clone()],
        weights: None,
        collinear: Default::default(),
        intercept: false,
    };
    let fit = fit(
        &design,
        &VcovSpec::Cluster(vec![d.id.clone()]),
        DemeanOptions::default(),
    )
    .unwrap();
    assert_eq!(
        fit.k_adjust, 20,
        "10 coefficients + 10 period levels; id is nested in the clusters"
    );
    let published = [
        ("x1", 0.973490, 0.045678),
        ("period::1:treat", -1.403045, 1.110267),
        ("period::2:treat", -1.247511, 1.093145),
        ("period::3:treat", -0.273206, 1.106935),
        ("period::4:treat", -1.795721, 1.087974),
        ("period::6:treat", 0.784452, 1.028388),
        ("period::7:treat", 3.598897, 1.101563),
        ("period::8:treat", 3.811766, 1.247502),
        ("period::9:treat", 4.731426, 1.097113),
        ("period::10:treat", 6.606229, 1.120494),
    ];
    let out = &fit.outcomes[0];
    for (term, estimate, se) in published {
        let c = out.coefficients.iter().find(|c| c.term == term).unwrap();
        assert_6(c.estimate, estimate, term);
        assert_6(c.se, se, &format!("{term} se"));
    }
    assert_eq!(fit.df, 107.0);
}

#[test]
fn fixest_one_and_two_way_clustering_on_base_did() {
    // feols(y ~ x1 | period, base_did) with SEs clustered by id, by period, and by both.
    let d = base_did();
    let design = Design {
        outcomes: vec![("y".into(), d.y.clone())],
        regressors: vec![("x1".into(), d.x1.clone())],
        fixed_effects: vec![d.period.clone()],
        weights: None,
        collinear: Default::default(),
        intercept: false,
    };
    let run = |clusters: Vec<Factor>| {
        fit(
            &design,
            &VcovSpec::Cluster(clusters),
            DemeanOptions::default(),
        )
        .unwrap()
        .outcomes[0]
            .coefficients[0]
            .clone()
    };
    let by_id = run(vec![d.id.clone()]);
    assert_6(by_id.estimate, 0.997536, "x1");
    assert_6(by_id.se, 0.045721, "x1 se (id)");
    assert_6(run(vec![d.period.clone()]).se, 0.050264, "x1 se (period)");
    assert_6(
        run(vec![d.id.clone(), d.period.clone()]).se,
        0.047498,
        "x1 se (id + period)",
    );
}

#[test]
fn card_krueger_balanced_sample() {
    // Stores with FTE employment in both waves; DiD of mean FTE, New Jersey minus Pennsylvania.
    let rows = read_csv("card_krueger_long.csv");
    let mut waves: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        if num(r, "fte").is_finite() {
            *waves.entry(r["id"].clone()).or_default() += 1;
        }
    }
    let rows: Vec<_> = rows
        .iter()
        .filter(|r| waves.get(&r["id"]) == Some(&2))
        .collect();
    assert_eq!(rows.len(), 2 * 384, "the balanced sample has 384 stores");
    let ids: Vec<String> = rows.iter().map(|r| r["id"].clone()).collect();
    let waves_f: Vec<String> = rows.iter().map(|r| r["d"].clone()).collect();
    let id = Factor::from_labels("id", &ids);
    let design = Design {
        outcomes: vec![("fte".into(), rows.iter().map(|r| num(r, "fte")).collect())],
        regressors: vec![("d_nj".into(), rows.iter().map(|r| num(r, "d_nj")).collect())],
        fixed_effects: vec![id.clone(), Factor::from_labels("d", &waves_f)],
        weights: None,
        collinear: Default::default(),
        intercept: false,
    };
    let c = fit(
        &design,
        &VcovSpec::Cluster(vec![id]),
        DemeanOptions::default(),
    )
    .unwrap()
    .outcomes[0]
        .coefficients[0]
        .clone();
    // Published (Card & Krueger 1994, Table 3): 2.75 (1.34).
    assert!((c.estimate - 2.75).abs() < 0.005, "{}", c.estimate);
    assert!((c.se - 1.34).abs() < 0.005, "{}", c.se);
}
