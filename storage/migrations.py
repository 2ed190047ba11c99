"""Versioned schema migrations; they run at every startup and are no-ops once applied."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("plumbline")


@MIGRATIONS(name="0001_core")
def _core(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE observations (
            series TEXT NOT NULL,
            date TEXT NOT NULL,
            value REAL NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (series, date)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            series TEXT NOT NULL,
            date TEXT NOT NULL,
            old_value REAL NOT NULL,
            new_value REAL NOT NULL,
            source TEXT NOT NULL,
            revised_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX revisions_series_date ON revisions (series, date)")
    db.execute(
        """
        CREATE TABLE operations (
            operation_id TEXT PRIMARY KEY,
            operation_date TEXT NOT NULL,
            operation_type TEXT NOT NULL,
            method TEXT NOT NULL,
            settlement_type TEXT NOT NULL,
            term TEXT NOT NULL,
            session TEXT NOT NULL,
            is_sve INTEGER NOT NULL,
            close_time TEXT NOT NULL,
            total_submitted REAL NOT NULL,
            total_accepted REAL NOT NULL,
            rate REAL,
            treasury REAL NOT NULL,
            agency REAL NOT NULL,
            mbs REAL NOT NULL,
            last_updated TEXT NOT NULL,
            note TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX operations_date ON operations (operation_date, operation_type)")
    db.execute(
        """
        CREATE TABLE fetch_log (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            rows_changed INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX fetch_log_source ON fetch_log (source, id)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@MIGRATIONS(name="0002_alerts")
def _alerts(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            address TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            is_group INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            srf_threshold REAL NOT NULL DEFAULT 0,
            near_bp REAL,
            muted_until TEXT,
            lang TEXT NOT NULL DEFAULT 'en',
            created_at TEXT NOT NULL,
            deactivated_reason TEXT,
            UNIQUE (platform, address)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE subscriptions (
            chat_id INTEGER NOT NULL REFERENCES chats (id),
            kind TEXT NOT NULL CHECK (kind IN ('alerts', 'daily')),
            daily_time TEXT,
            tz TEXT,
            weekends INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, kind)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alert_marks (
            rule TEXT NOT NULL,
            item TEXT NOT NULL,
            ord TEXT NOT NULL,
            value REAL NOT NULL,
            ref REAL,
            flag INTEGER NOT NULL,
            PRIMARY KEY (rule, item)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX alert_marks_ord ON alert_marks (rule, ord)")
    db.execute(
        """
        CREATE TABLE events (
            key TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            kind TEXT NOT NULL,
            data_date TEXT NOT NULL,
            audience TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats (id),
            event_key TEXT NOT NULL REFERENCES events (key),
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'uncertain', 'failed', 'dropped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            last_error TEXT,
            UNIQUE (chat_id, event_key)
        )
        """
    )
    db.execute("CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)")


@MIGRATIONS(name="0003_operation_release_time")
def _release_time(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE operations ADD COLUMN release_time TEXT NOT NULL DEFAULT ''")


@MIGRATIONS(name="0004_chat_lang_chosen")
def _lang_chosen(db: sqlite_utils.Database) -> None:
    """chats.lang is the language alerts and summaries are sent in; lang_chosen says /lang set it, so a
    client's language (Telegram language_code, Discord locale) no longer overrides it."""
    db.execute("ALTER TABLE chats ADD COLUMN lang_chosen INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS(name="0005_extreme_indexes")
def _extreme_indexes(db: sqlite_utils.Database) -> None:
    # A series' record high (and the record before a date) read from the top of an index, not a sort.
    db.execute("CREATE INDEX observations_series_value ON observations (series, value DESC, date)")
    # The last day a take-up series was above zero, without walking back over years of zero days.
    db.execute("CREATE INDEX observations_positive ON observations (series, date) WHERE value > 0")


@MIGRATIONS(name="0006_next_daily")
def _next_daily(db: sqlite_utils.Database) -> None:
    # When each daily summary next needs a look (UTC, iso_utc text): the minute job reads only the rows
    # whose time has come, one indexed query whatever the number of subscribers. '' means "look now"
    # (new or changed); NULL means never (the chat is inactive).
    db.execute("ALTER TABLE subscriptions ADD COLUMN next_daily_at TEXT DEFAULT ''")
    db.execute(
        "UPDATE subscriptions SET next_daily_at = CASE WHEN (SELECT active FROM chats WHERE id = chat_id) "
        "THEN '' ELSE NULL END"
    )
    db.execute("CREATE INDEX subscriptions_next_daily ON subscriptions (next_daily_at) WHERE kind = 'daily'")
    # A chat that changes what its summary depends on is looked at again at once, however it was changed.
    db.execute(_DAILY_TRIGGER)


_DAILY_TRIGGER = """
    CREATE TRIGGER chats_daily_changed AFTER UPDATE OF active, muted_until ON chats
    WHEN OLD.active IS NOT NEW.active OR OLD.muted_until IS NOT NEW.muted_until
    BEGIN
        UPDATE subscriptions SET next_daily_at = CASE WHEN NEW.active THEN '' ELSE NULL END
        WHERE chat_id = NEW.id AND kind = 'daily';
    END
"""


@MIGRATIONS(name="0007_auctions")
def _auctions(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE auctions (
            auction_date TEXT NOT NULL,
            security_type TEXT NOT NULL,
            security_term TEXT NOT NULL,
            cusip TEXT NOT NULL,
            reopening INTEGER NOT NULL,
            announced_date TEXT,
            issue_date TEXT,
            maturity_date TEXT,
            offering_bn REAL,
            total_tendered_bn REAL,
            total_accepted_bn REAL,
            dealer_bn REAL,
            direct_bn REAL,
            indirect_bn REAL,
            soma_bn REAL,
            bid_to_cover REAL,
            high_yield REAL,
            high_discount_rate REAL,
            high_investment_rate REAL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (auction_date, security_type, security_term)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX auctions_issue ON auctions (issue_date)")
    db.execute("CREATE INDEX auctions_term ON auctions (security_type, security_term, auction_date)")


@MIGRATIONS(name="0008_auction_subscriptions")
def _auction_subscriptions(db: sqlite_utils.Database) -> None:
    # SQLite cannot alter a CHECK constraint: rebuild the table with 'auctions' allowed, rows kept.
    db.execute(
        """
        CREATE TABLE subscriptions_new (
            chat_id INTEGER NOT NULL REFERENCES chats (id),
            kind TEXT NOT NULL CHECK (kind IN ('alerts', 'daily', 'auctions')),
            daily_time TEXT,
            tz TEXT,
            weekends INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_daily_at TEXT DEFAULT '',
            PRIMARY KEY (chat_id, kind)
        )
        """
    )
    # The trigger of 0006 names the table: drop it while the table is rebuilt, then restore it and the index.
    db.execute("DROP TRIGGER IF EXISTS chats_daily_changed")
    db.execute(
        "INSERT INTO subscriptions_new (chat_id, kind, daily_time, tz, weekends, created_at, next_daily_at) "
        "SELECT chat_id, kind, daily_time, tz, weekends, created_at, next_daily_at FROM subscriptions"
    )
    db.execute("DROP TABLE subscriptions")
    db.execute("ALTER TABLE subscriptions_new RENAME TO subscriptions")
    db.execute("CREATE INDEX subscriptions_next_daily ON subscriptions (next_daily_at) WHERE kind = 'daily'")
    db.execute(_DAILY_TRIGGER)


@MIGRATIONS(name="0009_source_revisions")
def _source_revisions(db: sqlite_utils.Database) -> None:
    # Values the source itself marks as revised (the NY Fed's revisionIndicator), so a reply can say so even
    # when the bot never stored the first-published figure (a backfill after the revision).
    db.execute(
        "CREATE TABLE source_revisions (series TEXT NOT NULL, date TEXT NOT NULL, flagged_at TEXT NOT NULL, "
        "PRIMARY KEY (series, date)) WITHOUT ROWID"
    )


@MIGRATIONS(name="0010_outbox_pending")
def _outbox_pending(db: sqlite_utils.Database) -> None:
    # The pending rows in queue order: `due` reads the next batch from it instead of sorting every pending
    # row (29 ms a batch with 100,000 queued, which stalled the delivery worker's writes behind it).
    db.execute("CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending'")
