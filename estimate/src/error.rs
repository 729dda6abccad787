/// Everything that stops an estimate. Messages name the column, unit, period or parameter at fault
/// and what was expected, so the CLI and the run summary can print them as they are.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EstimateError {
    #[error("the restricted model of the bootstrap is rank deficient")]
    Singular,
    #[error("collinear with the fixed effects or the regressors before them: {}", .0.join(", "))]
    Collinear(Vec<String>),
    #[error("the treatment `{0}` is collinear with the fixed effects or the covariates (it does not vary within units and periods), so its effect cannot be estimated")]
    TreatmentCollinear(String),
    #[error("no observations for the {0} cell of the 2x2")]
    EmptyCell(&'static str),
    #[error("{0} is not positive, so its log is undefined (region {1}, year {2})")]
    NonPositiveForLog(f64, String, i32),
    #[error(
        "column `{column}` has {found} rows, expected {expected} (as many as the unit column)"
    )]
    Dimensions {
        column: String,
        expected: usize,
        found: usize,
    },
    #[error("the panel has no rows")]
    NoRows,
    #[error("too few observations: {n} for {k} coefficients and fixed effects")]
    TooFewObservations { n: usize, k: usize },
    #[error("no outcome to estimate")]
    NoOutcome,
    #[error("no regressor: the model needs a treatment, a covariate or an intercept")]
    NoRegressor,
    #[error("weights must be positive and finite: column `{column}` has {value} for unit {unit}, period {time}")]
    BadWeight {
        column: String,
        unit: String,
        time: i64,
        value: f64,
    },
    #[error("fixed effects did not converge in {0} iterations")]
    NotConverged(usize),
    #[error("cluster-robust inference needs at least 2 clusters, found {0}")]
    TooFewClusters(usize),
    #[error("unit {unit} has two rows for period {time}: one row per unit and period is expected (no method here takes repeated cross-sections)")]
    DuplicateRow { unit: String, time: i64 },
    #[error("treatment column `{column}` must be 0 or 1 (or empty): unit {unit} has {value} in period {time}")]
    BadTreatment {
        column: String,
        unit: String,
        time: i64,
        value: f64,
    },
    #[error("cohort column `{column}` must hold one value per unit: unit {unit} has {first} and {second}")]
    CohortVaries {
        column: String,
        unit: String,
        first: String,
        second: String,
    },
    #[error("treatment column `{column}` switches off: unit {unit} is treated in period {on} and untreated in period {off}; {method} needs a treatment that stays on once adopted (twfe estimates on the column as given)")]
    TreatmentSwitchesOff {
        column: String,
        unit: String,
        on: i64,
        off: i64,
        method: &'static str,
    },
    #[error("{parameter}: {message}")]
    BadParameter {
        parameter: &'static str,
        message: String,
    },
    #[error("{0}")]
    Design(String),
}

impl EstimateError {
    /// A column of `found` rows where `expected` were due is an error naming it.
    pub(crate) fn check_length(column: &str, expected: usize, found: usize) -> Result<(), Self> {
        if found == expected {
            Ok(())
        } else {
            Err(Self::Dimensions {
                column: column.to_string(),
                expected,
                found,
            })
        }
    }
}
