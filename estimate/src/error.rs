#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EstimateError {
    #[error("the design matrix is rank deficient (collinear regressors or too few observations)")]
    Singular,
    #[error("no observations for the {0} cell of the 2x2")]
    EmptyCell(&'static str),
    #[error("{0} is not positive, so its log is undefined (region {1}, year {2})")]
    NonPositiveForLog(f64, String, i32),
    #[error("expected {expected} rows, found {found}")]
    Dimensions { expected: usize, found: usize },
    #[error("too few observations: {n} for {k} coefficients")]
    TooFewObservations { n: usize, k: usize },
    #[error("no outcome to estimate")]
    NoOutcome,
    #[error("no regressor: the model needs a treatment, a covariate or an intercept")]
    NoRegressor,
    #[error("weights must be positive and finite")]
    BadWeights,
    #[error("fixed effects did not converge in {0} iterations")]
    NotConverged(usize),
    #[error("cluster-robust inference needs at least 2 clusters, found {0}")]
    TooFewClusters(usize),
    #[error("{0}")]
    Design(String),
}
