-- Counted attempts of an item's current chance: a failed item given another
-- chance by a redelivery starts again at 0 (attempts keeps the history).
ALTER TABLE items ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
