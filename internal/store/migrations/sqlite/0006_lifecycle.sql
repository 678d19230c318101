-- The whole life of an order. Every payload is a snapshot of the order; every
-- item has a desired state (want: enrolled or unenrolled, in mode) that its
-- job drives the LMS towards, whatever the item's status says it reached.
ALTER TABLE items ADD COLUMN want TEXT NOT NULL DEFAULT 'enrolled';
-- The enrollment mode (certificate track) bought; '' is the course default.
ALTER TABLE items ADD COLUMN mode TEXT NOT NULL DEFAULT '';
-- The seats of the item's line: more than the line's learners leaves seats unassigned.
ALTER TABLE items ADD COLUMN line_quantity INTEGER NOT NULL DEFAULT 1;
-- A refund took this learner's seat: no later snapshot enrolls it again.
ALTER TABLE items ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;

-- The newest snapshot applied (the shop's updated_at or date_modified_gmt);
-- NULL before the first. An older one changes nothing.
ALTER TABLE orders ADD COLUMN snapshot_at TIMESTAMP;
-- The shop's own status: Shopify's financial_status, WooCommerce's status.
ALTER TABLE orders ADD COLUMN shop_status TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
-- The whole order was refunded (WooCommerce status refunded).
ALTER TABLE orders ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
-- A refund the webhook does not itemise (WooCommerce): recorded, learners kept.
ALTER TABLE orders ADD COLUMN partial_refund INTEGER NOT NULL DEFAULT 0;
-- When a privacy redaction erased the order's personal data.
ALTER TABLE orders ADD COLUMN redacted_at TIMESTAMP;

-- The lines of the shop's refunds (Shopify refunds/create), one row each.
CREATE TABLE refunds (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER   NOT NULL REFERENCES orders (id),
    external_id  INTEGER   NOT NULL,
    line_item_id INTEGER   NOT NULL,
    quantity     INTEGER   NOT NULL,
    at           TIMESTAMP NOT NULL,
    UNIQUE (order_id, external_id, line_item_id)
);

-- Delivery keys already accepted, per shop: a Shopify webhook id or event id,
-- a WooCommerce order id, status and modification time. A delivery whose key
-- is here is a duplicate.
CREATE TABLE delivery_keys (
    platform    TEXT      NOT NULL,
    source      TEXT      NOT NULL,
    key         TEXT      NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (platform, source, key)
);

-- Privacy requests: Shopify's compliance topics and redactions by hand.
CREATE TABLE privacy_requests (
    id          INTEGER PRIMARY KEY,
    received_at TIMESTAMP NOT NULL,
    platform    TEXT      NOT NULL,
    source      TEXT      NOT NULL DEFAULT '',
    topic       TEXT      NOT NULL,
    email       TEXT      NOT NULL DEFAULT '',
    customer_id INTEGER   NOT NULL DEFAULT 0,
    order_ids   TEXT      NOT NULL DEFAULT '',
    delivery_id INTEGER REFERENCES deliveries (id),
    done_at     TIMESTAMP,
    note        TEXT      NOT NULL DEFAULT ''
);
