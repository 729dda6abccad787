-- Numbers that do not apply are NULL, not NaN: aggregates skip them and `IS NULL` finds them.
UPDATE estimate SET estimate = NULL WHERE isnan(estimate) OR isinf(estimate);
UPDATE estimate SET std_error = NULL WHERE isnan(std_error) OR isinf(std_error);
UPDATE estimate SET t_stat = NULL WHERE isnan(t_stat) OR isinf(t_stat);
UPDATE estimate SET p_value = NULL WHERE isnan(p_value) OR isinf(p_value);
UPDATE estimate SET ci_low = NULL WHERE isnan(ci_low) OR isinf(ci_low);
UPDATE estimate SET ci_high = NULL WHERE isnan(ci_high) OR isinf(ci_high);
UPDATE estimate SET df = NULL WHERE isnan(df) OR isinf(df);
UPDATE estimate_event_time SET estimate = NULL WHERE isnan(estimate) OR isinf(estimate);
UPDATE estimate_event_time SET std_error = NULL WHERE isnan(std_error) OR isinf(std_error);
UPDATE estimate_event_time SET ci_low = NULL WHERE isnan(ci_low) OR isinf(ci_low);
UPDATE estimate_event_time SET ci_high = NULL WHERE isnan(ci_high) OR isinf(ci_high);
UPDATE estimate_event_time SET band_low = NULL WHERE isnan(band_low) OR isinf(band_low);
UPDATE estimate_event_time SET band_high = NULL WHERE isnan(band_high) OR isinf(band_high);
UPDATE estimate_group_time SET estimate = NULL WHERE isnan(estimate) OR isinf(estimate);
UPDATE estimate_group_time SET std_error = NULL WHERE isnan(std_error) OR isinf(std_error);
UPDATE estimate_group_time SET ci_low = NULL WHERE isnan(ci_low) OR isinf(ci_low);
UPDATE estimate_group_time SET ci_high = NULL WHERE isnan(ci_high) OR isinf(ci_high);
UPDATE estimate_group_time SET band_low = NULL WHERE isnan(band_low) OR isinf(band_low);
UPDATE estimate_group_time SET band_high = NULL WHERE isnan(band_high) OR isinf(band_high);

-- Each cluster's rows of the latest run that estimated it: what an analyst usually wants.
CREATE VIEW estimate_latest AS
SELECT * FROM estimate
QUALIFY run_id = max(run_id) OVER (PARTITION BY cluster_id);
