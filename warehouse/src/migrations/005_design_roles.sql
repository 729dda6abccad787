-- Schema version 5: each estimate row says its part in the cluster's design — the headline answer
-- or an estimate beside it — and why that design was chosen (or why it could not be estimated).
ALTER TABLE estimate ADD COLUMN role VARCHAR;      -- headline, beside
ALTER TABLE estimate ADD COLUMN reason VARCHAR;
