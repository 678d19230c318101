-- What the receiver learns from the shops' own APIs: each reconciliation of
-- a shop or site against its orders, and the state of its webhook
-- subscriptions as the health check last saw them.

-- One reconciliation of one shop or site.
CREATE TABLE reconcile_runs (
    id          INTEGER PRIMARY KEY,
    platform    TEXT      NOT NULL,
    source      TEXT      NOT NULL,
    -- periodic, command, console or repair; actor names who asked.
    started_by  TEXT      NOT NULL,
    actor       TEXT      NOT NULL DEFAULT '',
    -- The start of the window read (after any cap).
    since       TIMESTAMP NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    dry_run     INTEGER   NOT NULL DEFAULT 0,
    -- Orders read; of them, not stored at all, and stored with an older
    -- snapshot that the shop's changed (each stored through the ingest path
    -- unless dry_run); refunds found that were not stored.
    seen        INTEGER   NOT NULL DEFAULT 0,
    missing     INTEGER   NOT NULL DEFAULT 0,
    stale       INTEGER   NOT NULL DEFAULT 0,
    refunds     INTEGER   NOT NULL DEFAULT 0,
    -- One warning per line (a capped window, a site ignoring modified_after).
    warnings    TEXT      NOT NULL DEFAULT '',
    -- Why the run stopped early, or ''.
    error       TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX reconcile_runs_shop ON reconcile_runs (platform, source, started_at);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at);

-- The last health check of each shop or site: when, and why its API could
-- not be read ('' when it could).
CREATE TABLE shop_checks (
    platform    TEXT      NOT NULL,
    source      TEXT      NOT NULL,
    checked_at  TIMESTAMP NOT NULL,
    api_version TEXT      NOT NULL DEFAULT '',
    error       TEXT      NOT NULL DEFAULT '',
    PRIMARY KEY (platform, source)
);

-- Each subscription a shop needs, as the last check saw it.
CREATE TABLE shop_webhooks (
    platform   TEXT      NOT NULL,
    source     TEXT      NOT NULL,
    topic      TEXT      NOT NULL,
    address    TEXT      NOT NULL DEFAULT '',
    -- active, paused, disabled, missing, points elsewhere
    state      TEXT      NOT NULL,
    up         INTEGER   NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    -- When a check first saw it down, while it is; NULL while it is up.
    down_since TIMESTAMP,
    PRIMARY KEY (platform, source, topic)
);

-- Each time a subscription was seen down, until a check saw it up again.
CREATE TABLE webhook_outages (
    id       INTEGER PRIMARY KEY,
    platform TEXT      NOT NULL,
    source   TEXT      NOT NULL,
    topic    TEXT      NOT NULL,
    state    TEXT      NOT NULL,
    down_at  TIMESTAMP NOT NULL,
    up_at    TIMESTAMP,
    -- The receiver repaired it (repair: true), rather than someone else.
    repaired INTEGER   NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outages_down ON webhook_outages (down_at);
