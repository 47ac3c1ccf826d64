-- In-app notifications and the e-mail outbox (SPEC §8), SQLite flavour.
-- Keep it in step with ../postgres/20261206000100_notifications.sql.

-- One row per notification ('ntf-' and a UUID), for one recipient: the
-- caller identity (token email, else sub) that may list and read it.
CREATE TABLE notifications (
    notification_id TEXT    NOT NULL PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    link            TEXT,
    -- A JSON object (the error, its message, the import id...).
    details         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    -- NULL until the recipient first reads it; later reads keep it.
    read_at         INTEGER
) STRICT;

-- A recipient's notifications, newest first, paged by
-- (created_at, notification_id).
CREATE INDEX notifications_recipient_created
    ON notifications (recipient, created_at DESC, notification_id DESC);

-- The durable outbox: one row per e-mail ('eml-' and a UUID), written in
-- the notification's transaction and sent later by the mailer, so a down
-- mail server never fails what caused it.
--
-- next_attempt_at is set while the e-mail is to be sent (pending), NULL
-- once it is sent (sent_at) or given up (a dead letter, kept with its
-- last_error). A mailer claims a due e-mail by writing its lease_owner and
-- lease_until; a claim whose lease has run out may be taken by another.
CREATE TABLE email_outbox (
    email_id        TEXT    NOT NULL PRIMARY KEY,
    notification_id TEXT    REFERENCES notifications (notification_id),
    to_address      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    -- text/plain.
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    sent_at         INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER
) STRICT;

-- The mailer looks for the (few) pending e-mails that are due.
CREATE INDEX email_outbox_due
    ON email_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
