-- What operators did from the console or the command line, and why.
CREATE TABLE actions (
    id          INTEGER PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    actor       TEXT      NOT NULL,
    action      TEXT      NOT NULL,
    order_id    INTEGER REFERENCES orders (id),
    item_id     INTEGER REFERENCES items (id),
    delivery_id INTEGER REFERENCES deliveries (id),
    note        TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX actions_order ON actions (order_id);

-- Console sessions live in the database, so that every replica knows them.
CREATE TABLE admin_sessions (
    token_hash TEXT      PRIMARY KEY,
    username   TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- For the console's searches and list pages.
CREATE INDEX items_email_lower ON items (lower(email));
CREATE INDEX items_course ON items (course_id);
CREATE INDEX orders_external ON orders (external_id);
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX deliveries_rejected ON deliveries (id) WHERE status <> 200;
