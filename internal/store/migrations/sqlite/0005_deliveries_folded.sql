-- A flood of rejected requests is not stored one row per request: past the
-- first few of a minute, the requests from one address rejected for one
-- reason are counted, and one row stands for them all. folded is that count
-- (0 for a row that is one request).
ALTER TABLE deliveries ADD COLUMN folded INTEGER NOT NULL DEFAULT 0;
