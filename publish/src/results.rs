//! The estimates run's results read once from the warehouse, by cluster and indicator, for the
//! plots and the report. (The tables are copied by SQL; these are what gets drawn and written.)

use std::collections::BTreeMap;

use duckdb::types::Value;

use crate::error::PublishError;

/// One stored estimate row.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub method: String,
    pub term: String,
    pub estimate: f64,
    pub std_error: f64,
    pub stat: f64,
    pub p_value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub n_treated: i64,
    pub n_control: i64,
    pub vcov: String,
    /// `headline` or `beside`.
    pub role: String,
    /// Why the design was chosen, or why it could not be estimated.
    pub reason: String,
}

/// A hypothesis test of a design (the event study's joint pre-trend test).
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub method: String,
    pub test: String,
    pub statistic: f64,
    pub p_value: f64,
    pub description: String,
}

/// An effect at a time relative to adoption, as the warehouse stores it.
pub use regstat_warehouse::EventTimeRow as EventTime;

/// A donor region's weight (`year` None) or a pre-treatment year's (`unit` None).
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub method: String,
    pub unit: Option<String>,
    pub region_name: Option<String>,
    pub year: Option<i64>,
    pub weight: f64,
}

/// One figure of the panel an estimate used.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelPoint {
    pub unit: String,
    pub region_name: String,
    pub year: i64,
    pub value: f64,
    pub outcome: f64,
    /// The adoption year; 0 for a control region.
    pub cohort: i64,
    pub document_sha256: Option<String>,
}

/// A source document behind a panel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Document {
    pub sha256: String,
    pub url: String,
    pub file_name: String,
    pub fetched_at: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndicatorResults {
    pub id: String,
    pub name: String,
    pub unit: Option<String>,
    pub log_outcome: bool,
    pub estimates: Vec<Estimate>,
    pub tests: Vec<Test>,
    pub event_time: Vec<EventTime>,
    pub weights: Vec<Weight>,
    pub panel: Vec<PanelPoint>,
}

impl IndicatorResults {
    /// The headline design's effect row: its method's `att`, `treated` or `treated_x_post` term.
    pub fn headline(&self) -> Option<&Estimate> {
        self.estimates
            .iter()
            .filter(|e| e.role == "headline")
            .min_by_key(|e| e.term.contains(':'))
    }

    /// The effect row of each design beside the headline (their main term only).
    pub fn beside(&self) -> Vec<&Estimate> {
        let mut rows: Vec<&Estimate> = self
            .estimates
            .iter()
            .filter(|e| {
                e.role == "beside"
                    && matches!(e.term.as_str(), "att" | "treated" | "treated_x_post")
            })
            .collect();
        rows.sort_by(|a, b| a.method.cmp(&b.method));
        rows
    }

    /// A row of `method` with `term`.
    pub fn row(&self, method: &str, term: &str) -> Option<&Estimate> {
        self.estimates
            .iter()
            .find(|e| e.method == method && e.term == term)
    }

    /// The documents the panel's figures come from.
    pub fn documents<'a>(&self, all: &'a BTreeMap<String, Document>) -> Vec<&'a Document> {
        let mut docs: Vec<&Document> = self
            .panel
            .iter()
            .filter_map(|p| p.document_sha256.as_ref())
            .filter_map(|sha| all.get(sha))
            .collect();
        docs.sort();
        docs.dedup();
        docs
    }

    /// The treated regions' adoption years.
    pub fn adoption_years(&self) -> Vec<i64> {
        let mut years: Vec<i64> = self
            .panel
            .iter()
            .map(|p| p.cohort)
            .filter(|c| *c > 0)
            .collect();
        years.sort();
        years.dedup();
        years
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterResults {
    pub id: String,
    pub name: String,
    pub indicators: Vec<IndicatorResults>,
}

/// Everything the plots and the report show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunResults {
    /// The run whose estimates these are (the latest that estimated); None before any.
    pub run_id: Option<i64>,
    pub estimated_at: Option<String>,
    pub clusters: Vec<ClusterResults>,
    pub documents: BTreeMap<String, Document>,
}

fn f(v: Value) -> f64 {
    match v {
        Value::Double(x) => x,
        Value::Float(x) => x as f64,
        Value::BigInt(x) => x as f64,
        Value::Int(x) => x as f64,
        _ => f64::NAN,
    }
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::Text(s) => Some(s),
        Value::Null => None,
        other => Some(format!("{other:?}")),
    }
}

fn int(v: Value) -> i64 {
    match v {
        Value::BigInt(x) => x,
        Value::Int(x) => x as i64,
        Value::SmallInt(x) => x as i64,
        Value::HugeInt(x) => x as i64,
        _ => 0,
    }
}

type Key = (String, String);

fn rows<T>(
    conn: &duckdb::Connection,
    what: &str,
    sql: &str,
    columns: usize,
    mut make: impl FnMut(&mut dyn FnMut() -> Value) -> (Key, T),
) -> Result<Vec<(Key, T)>, PublishError> {
    let mut stmt = conn.prepare(sql).map_err(PublishError::db(what))?;
    let mut result = stmt.query([]).map_err(PublishError::db(what))?;
    let mut out = Vec::new();
    while let Some(row) = result.next().map_err(PublishError::db(what))? {
        let mut i = 0;
        let mut next = || {
            let v = if i < columns {
                row.get::<_, Value>(i).unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            i += 1;
            v
        };
        out.push(make(&mut next));
    }
    Ok(out)
}

impl RunResults {
    /// Reads the latest estimates run's results.
    pub fn read(conn: &duckdb::Connection) -> Result<Self, PublishError> {
        let run_id: Option<i64> = conn
            .query_row("SELECT max(run_id) FROM estimate", [], |r| r.get(0))
            .map_err(PublishError::db("finding the estimates run"))?;
        let Some(run) = run_id else {
            return Ok(Self::default());
        };
        let estimated_at: Option<String> = conn
            .query_row(
                "SELECT strftime(max(estimated_at), '%Y-%m-%d %H:%M UTC') FROM estimate WHERE run_id = ?",
                [run],
                |r| r.get(0),
            )
            .map_err(PublishError::db("reading the estimates run"))?;

        let estimates = rows(
            conn,
            "reading estimates",
            &format!(
                "SELECT cluster_id, indicator_id, method, term, estimate, std_error, t_stat, p_value,
                        ci_low, ci_high, n_treated, n_control, coalesce(vcov, ''), coalesce(role, ''),
                        coalesce(reason, ''), log_outcome
                 FROM estimate WHERE run_id = {run} ORDER BY cluster_id, indicator_id, method, term"
            ),
            16,
            |next| {
                let key = (text(next()).unwrap_or_default(), text(next()).unwrap_or_default());
                let e = Estimate {
                    method: text(next()).unwrap_or_default(),
                    term: text(next()).unwrap_or_default(),
                    estimate: f(next()),
                    std_error: f(next()),
                    stat: f(next()),
                    p_value: f(next()),
                    ci_low: f(next()),
                    ci_high: f(next()),
                    n_treated: int(next()),
                    n_control: int(next()),
                    vcov: text(next()).unwrap_or_default(),
                    role: text(next()).unwrap_or_default(),
                    reason: text(next()).unwrap_or_default(),
                };
                let log = matches!(next(), Value::Boolean(true));
                (key, (e, log))
            },
        )?;
        let event_time = rows(
            conn,
            "reading event-time effects",
            &format!(
                "SELECT cluster_id, indicator_id, method, rel_time, estimate, std_error, ci_low, ci_high,
                        band_low, band_high, is_reference
                 FROM estimate_event_time WHERE run_id = {run}
                 ORDER BY cluster_id, indicator_id, method, rel_time"
            ),
            11,
            |next| {
                let key = (text(next()).unwrap_or_default(), text(next()).unwrap_or_default());
                (
                    key,
                    EventTime {
                        method: text(next()).unwrap_or_default(),
                        rel_time: int(next()),
                        estimate: f(next()),
                        std_error: f(next()),
                        ci_low: f(next()),
                        ci_high: f(next()),
                        band_low: f(next()),
                        band_high: f(next()),
                        is_reference: matches!(next(), Value::Boolean(true)),
                    },
                )
            },
        )?;
        let tests = rows(
            conn,
            "reading tests",
            &format!(
                "SELECT cluster_id, indicator_id, method, test, statistic, p_value, coalesce(description, '')
                 FROM estimate_test WHERE run_id = {run}
                 ORDER BY cluster_id, indicator_id, method, test"
            ),
            7,
            |next| {
                let key = (text(next()).unwrap_or_default(), text(next()).unwrap_or_default());
                (
                    key,
                    Test {
                        method: text(next()).unwrap_or_default(),
                        test: text(next()).unwrap_or_default(),
                        statistic: f(next()),
                        p_value: f(next()),
                        description: text(next()).unwrap_or_default(),
                    },
                )
            },
        )?;
        let weights = rows(
            conn,
            "reading weights",
            &format!(
                "SELECT w.cluster_id, w.indicator_id, w.method, w.unit, coalesce(r.name, m.name), w.year, w.weight
                 FROM estimate_weight w LEFT JOIN region r ON r.code = w.unit
                 LEFT JOIN (SELECT series, name FROM municipality WHERE code = series) m ON m.series = w.unit
                 WHERE w.run_id = {run}
                 ORDER BY w.cluster_id, w.indicator_id, w.method, w.weight DESC, w.unit, w.year"
            ),
            7,
            |next| {
                let key = (
                    text(next()).unwrap_or_default(),
                    text(next()).unwrap_or_default(),
                );
                let method = text(next()).unwrap_or_default();
                let unit = text(next());
                let region_name = text(next());
                let year = match next() {
                    Value::Null => None,
                    v => Some(int(v)),
                };
                (
                    key,
                    Weight {
                        method,
                        unit,
                        region_name,
                        year,
                        weight: f(next()),
                    },
                )
            },
        )?;
        let panel = rows(
            conn,
            "reading the estimates' panels",
            &format!(
                "SELECT p.cluster_id, p.indicator_id, p.unit, coalesce(r.name, m.name, p.unit), p.year, p.value,
                        p.outcome, p.cohort, p.document_sha256
                 FROM estimate_panel p LEFT JOIN region r ON r.code = p.unit
                 LEFT JOIN (SELECT series, name FROM municipality WHERE code = series) m ON m.series = p.unit
                 WHERE p.run_id = {run} ORDER BY p.cluster_id, p.indicator_id, p.unit, p.year"
            ),
            9,
            |next| {
                let key = (text(next()).unwrap_or_default(), text(next()).unwrap_or_default());
                (
                    key,
                    PanelPoint {
                        unit: text(next()).unwrap_or_default(),
                        region_name: text(next()).unwrap_or_default(),
                        year: int(next()),
                        value: f(next()),
                        outcome: f(next()),
                        cohort: int(next()),
                        document_sha256: text(next()),
                    },
                )
            },
        )?;
        let names = rows(
            conn,
            "reading cluster and indicator names",
            "SELECT 'cluster', id, name, NULL FROM cluster
             UNION ALL SELECT 'indicator', id, name, unit FROM indicator",
            4,
            |next| {
                let kind = text(next()).unwrap_or_default();
                let id = text(next()).unwrap_or_default();
                ((kind, id), (text(next()).unwrap_or_default(), text(next())))
            },
        )?;
        let names: BTreeMap<Key, (String, Option<String>)> = names.into_iter().collect();
        let documents = rows(
            conn,
            "reading documents",
            "SELECT sha256, url, file_name, strftime(fetched_at, '%Y-%m-%d') FROM source_document",
            4,
            |next| {
                let sha = text(next()).unwrap_or_default();
                (
                    (sha.clone(), String::new()),
                    Document {
                        sha256: sha,
                        url: text(next()).unwrap_or_default(),
                        file_name: text(next()).unwrap_or_default(),
                        fetched_at: text(next()).unwrap_or_default(),
                    },
                )
            },
        )?
        .into_iter()
        .map(|((sha, _), d)| (sha, d))
        .collect();

        // Grouped by cluster, then indicator, in the order of the stored rows.
        let mut by_key: BTreeMap<Key, IndicatorResults> = BTreeMap::new();
        let slot = |by_key: &mut BTreeMap<Key, IndicatorResults>, key: &Key| {
            if !by_key.contains_key(key) {
                let (name, unit) = names
                    .get(&("indicator".to_string(), key.1.clone()))
                    .cloned()
                    .unwrap_or_else(|| (key.1.clone(), None));
                by_key.insert(
                    key.clone(),
                    IndicatorResults {
                        id: key.1.clone(),
                        name,
                        unit,
                        ..Default::default()
                    },
                );
            }
        };
        for (key, (e, log)) in estimates {
            slot(&mut by_key, &key);
            let r = by_key.get_mut(&key).expect("slot made");
            r.log_outcome |= log;
            r.estimates.push(e);
        }
        for (key, t) in tests {
            slot(&mut by_key, &key);
            by_key.get_mut(&key).expect("slot made").tests.push(t);
        }
        for (key, e) in event_time {
            slot(&mut by_key, &key);
            by_key.get_mut(&key).expect("slot made").event_time.push(e);
        }
        for (key, w) in weights {
            slot(&mut by_key, &key);
            by_key.get_mut(&key).expect("slot made").weights.push(w);
        }
        for (key, p) in panel {
            slot(&mut by_key, &key);
            by_key.get_mut(&key).expect("slot made").panel.push(p);
        }
        let mut clusters: Vec<ClusterResults> = Vec::new();
        for ((cluster, _), results) in by_key {
            if clusters.last().map(|c| &c.id) != Some(&cluster) {
                let name = names
                    .get(&("cluster".to_string(), cluster.clone()))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| cluster.clone());
                clusters.push(ClusterResults {
                    id: cluster.clone(),
                    name,
                    indicators: Vec::new(),
                });
            }
            clusters
                .last_mut()
                .expect("pushed above")
                .indicators
                .push(results);
        }
        Ok(Self {
            run_id: Some(run),
            estimated_at,
            clusters,
            documents,
        })
    }
}
