-- Orders bought in a shop: one row per (platform, shop/site, shop order id).
CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    platform    TEXT      NOT NULL,
    source      TEXT      NOT NULL,
    external_id INTEGER   NOT NULL,
    email       TEXT      NOT NULL DEFAULT '',
    status      TEXT      NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (platform, source, external_id)
);

-- One enrollment to make: a learner in the course a SKU names. The unique
-- key is the real guard against enrolling a learner twice.
CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER   NOT NULL REFERENCES orders (id),
    line_item_id INTEGER   NOT NULL,
    sku          TEXT      NOT NULL,
    email        TEXT      NOT NULL,
    course_id    TEXT      NOT NULL DEFAULT '',
    status       TEXT      NOT NULL,
    attempts     INTEGER   NOT NULL DEFAULT 0,
    last_error   TEXT      NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (order_id, sku, email)
);
CREATE INDEX items_status ON items (status);

-- Every call made for an item, whatever came of it.
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER   NOT NULL REFERENCES items (id),
    at          TIMESTAMP NOT NULL,
    outcome     TEXT      NOT NULL,
    http_status INTEGER   NOT NULL DEFAULT 0,
    detail      TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX attempts_item ON attempts (item_id);

-- Every webhook request. Rejected unauthenticated requests keep metadata
-- only (body is NULL) so that an unsigned flood cannot fill the disk.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    received_at TIMESTAMP NOT NULL,
    platform    TEXT      NOT NULL,
    source      TEXT      NOT NULL DEFAULT '',
    path        TEXT      NOT NULL,
    source_ip   TEXT      NOT NULL DEFAULT '',
    headers     TEXT      NOT NULL DEFAULT '{}',
    body        BLOB,
    parsed      TEXT,
    body_size   INTEGER   NOT NULL,
    body_sha256 TEXT      NOT NULL,
    status      INTEGER   NOT NULL,
    reason      TEXT      NOT NULL DEFAULT '',
    order_id    INTEGER REFERENCES orders (id)
);
CREATE INDEX deliveries_order ON deliveries (order_id);
CREATE INDEX deliveries_received ON deliveries (received_at);
