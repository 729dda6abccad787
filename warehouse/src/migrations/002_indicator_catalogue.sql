-- Schema version 2: indicators carry what they measure and where they are published, from regstat's
-- catalogue or the config.
ALTER TABLE indicator ADD COLUMN measure VARCHAR;
ALTER TABLE indicator ADD COLUMN publications VARCHAR;
ALTER TABLE indicator ADD COLUMN origin VARCHAR;   -- catalogue, config
