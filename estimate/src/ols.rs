//! Ordinary least squares with iid, HC1 and cluster-robust (CR1) variances.

use nalgebra::{DMatrix, DVector};

use crate::error::EstimateError;

#[derive(Debug, Clone, PartialEq)]
pub enum Vcov {
    /// Classical: sigma^2 (X'X)^-1 with sigma^2 = e'e / (n - k).
    Iid,
    /// White's heteroskedasticity-robust variance with the n / (n - k) correction.
    Hc1,
    /// Cluster-robust, fixest's CR1: G/(G-1) * (n-1)/(n-k) * bread * meat * bread.
    /// `ids[i]` is the cluster of row i.
    Cluster(Vec<usize>),
}

#[derive(Debug, Clone)]
pub struct OlsFit {
    pub coef: DVector<f64>,
    pub vcov: DMatrix<f64>,
    pub residuals: DVector<f64>,
    pub n: usize,
    pub k: usize,
    /// Residual degrees of freedom for t tests: n - k, or G - 1 with clustering.
    pub df: f64,
}

impl OlsFit {
    pub fn se(&self, i: usize) -> f64 {
        self.vcov[(i, i)].sqrt()
    }
}

pub fn ols(x: &DMatrix<f64>, y: &DVector<f64>, vcov: Vcov) -> Result<OlsFit, EstimateError> {
    let (n, k) = x.shape();
    if y.len() != n {
        return Err(EstimateError::Dimensions {
            expected: n,
            found: y.len(),
        });
    }
    if n <= k {
        return Err(EstimateError::TooFewObservations { n, k });
    }
    let xtx = x.transpose() * x;
    let bread = xtx.clone().try_inverse().ok_or(EstimateError::Singular)?;
    // Guard against near-singular designs that invert to garbage.
    let check = &xtx * &bread - DMatrix::<f64>::identity(k, k);
    if check.amax() > 1e-6 {
        return Err(EstimateError::Singular);
    }
    let coef = &bread * (x.transpose() * y);
    let residuals = y - x * &coef;
    let dof = (n - k) as f64;
    let (vcov, df) = match vcov {
        Vcov::Iid => {
            let sigma2 = residuals.dot(&residuals) / dof;
            (&bread * sigma2, dof)
        }
        Vcov::Hc1 => {
            let mut meat = DMatrix::<f64>::zeros(k, k);
            for i in 0..n {
                let xi = x.row(i).transpose();
                meat += &xi * xi.transpose() * residuals[i].powi(2);
            }
            (&bread * meat * &bread * (n as f64 / dof), dof)
        }
        Vcov::Cluster(ids) => {
            if ids.len() != n {
                return Err(EstimateError::Dimensions {
                    expected: n,
                    found: ids.len(),
                });
            }
            let g_max = ids.iter().copied().max().unwrap_or(0) + 1;
            let mut scores = DMatrix::<f64>::zeros(g_max, k);
            for i in 0..n {
                let mut row = scores.row_mut(ids[i]);
                row += x.row(i) * residuals[i];
            }
            let present: Vec<usize> = (0..g_max).filter(|&g| ids.contains(&g)).collect();
            let g = present.len() as f64;
            let mut meat = DMatrix::<f64>::zeros(k, k);
            for &c in &present {
                let s = scores.row(c).transpose();
                meat += &s * s.transpose();
            }
            let adj = g / (g - 1.0) * (n as f64 - 1.0) / dof;
            (&bread * meat * &bread * adj, g - 1.0)
        }
    };
    Ok(OlsFit {
        coef,
        vcov,
        residuals,
        n,
        k,
        df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_line_and_textbook_standard_errors() {
        // y = 1 + 2x + e with e known: OLS by hand gives slope 2.0, intercept 1.0, and residual
        // variance sum(e^2)/(n-2).
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let e = [0.1, -0.1, 0.0, 0.1, -0.1];
        let x = DMatrix::from_fn(5, 2, |i, j| if j == 0 { 1.0 } else { xs[i] });
        let y = DVector::from_fn(5, |i, _| 1.0 + 2.0 * xs[i] + e[i]);
        let fit = ols(&x, &y, Vcov::Iid).unwrap();
        // Closed form: slope = Sxy/Sxx with Sxx = 10.
        let sxy: f64 = xs.iter().zip(&e).map(|(x, e)| (x - 3.0) * e).sum();
        assert!((fit.coef[1] - (2.0 + sxy / 10.0)).abs() < 1e-12);
        let rss: f64 = fit.residuals.iter().map(|r| r * r).sum();
        assert!((fit.se(1) - (rss / 3.0 / 10.0).sqrt()).abs() < 1e-12);
        assert_eq!(fit.df, 3.0);
    }

    #[test]
    fn collinear_designs_are_refused() {
        let x = DMatrix::from_fn(4, 2, |i, _| i as f64);
        let y = DVector::from_element(4, 1.0);
        assert_eq!(ols(&x, &y, Vcov::Iid).unwrap_err(), EstimateError::Singular);
    }
}
