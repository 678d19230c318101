-- An item being enrolled by a job claims it until this time (Unix ms), so that
-- jobs can enroll pending items of the same SKU in one call without racing.
ALTER TABLE items ADD COLUMN claim_expires BIGINT NOT NULL DEFAULT 0;
CREATE INDEX items_sku_status ON items (sku, status);
