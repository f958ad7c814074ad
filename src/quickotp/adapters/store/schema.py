"""
The tables, as SQLAlchemy Core metadata. Alembic migrations are written against this.

Times are stored in UTC; money in rial as integers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


OUTBOX_CHANNEL = "quickotp_outbox"  # PostgreSQL: NOTIFY on each accept wakes dispatchers

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("credit", BigInteger, nullable=False, default=0),
    Column("unlimited", Boolean, nullable=False, default=False),
    Column("sender", String(20), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    # Free text (SendSimple, SendOTP, /v1 text): off until the operator grants it, so an
    # OTP gateway does not become an open relay for whatever a token holder writes.
    Column("free_text", Boolean, nullable=False, default=False, server_default=false()),
    # How far below zero the operator may take the credit (rial, 0: not at all).
    Column("overdraft", BigInteger, nullable=False, default=0, server_default=text("0")),
    # The OTP pattern the account chose to send its codes with (SendQuickOTP, /v1's send
    # without a pattern); None, or one no longer approved: its newest approved OTP pattern.
    # No foreign key: patterns refer to accounts, and the choice is checked where it is read.
    Column("otp_pattern_id", Id, nullable=True),
)

# An account's sender lines besides its default one (accounts.sender).
account_lines = Table(
    "account_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("line", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "line", name="uq_account_lines_account_line"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("label", String(100), nullable=False, default=""),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("expires_at", UtcDateTime),
    Column("allowed_ips", Text, nullable=False, default=""),  # CIDRs, space-separated; "" = any
    Column("allowed_methods", Text, nullable=False, default=""),  # method names; "" = all
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    # A deleted token keeps its row (its messages point at it) but loses its digest.
    Column("deleted_at", UtcDateTime),
    # The secret's first characters (`qotp_ab12`), shown so tokens can be told apart; ""
    # for a token made before tokens had a prefix.
    Column("prefix", String(12), nullable=False, default="", server_default=""),
    Column("last_address", String(45)),  # where its last send came from (the batched accept)
)

patterns = Table(
    "patterns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("is_otp", Boolean, nullable=False, default=False),
    Column("number_patterns", Text, nullable=False, default=""),  # digit-only variables
    Column("state", String(16), nullable=False),  # pending | approved | rejected
    Column("reason", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime),
    Index("ix_patterns_state", "state", "id"),  # the approval queue, a page at a time
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("token_id", Id, ForeignKey("tokens.id")),
    Column("pattern_id", Id, ForeignKey("patterns.id")),
    Column("mobile", String(20), nullable=False),
    Column("sender", String(20), nullable=False),
    Column("text", Text, nullable=False),  # the code is masked once an upstream took it
    Column("code", String(8)),  # kept only until the upstream took the message, to mask the text
    Column("encoding", String(8), nullable=False),
    Column("parts", Integer, nullable=False),
    Column("cost", BigInteger, nullable=False),  # the price of its parts
    Column("charged", BigInteger, nullable=False),  # what left the credit: 0 when unlimited
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("possible_duplicate", Boolean, nullable=False, default=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime),
    Column("reported_at", UtcDateTime),
    # The route that took it; until one does, the route its last attempt failed on.
    Column("transport", String(40)),
    Column("provider_message_id", String(80)),
    Column("error", Text),  # the last failure in its route's own words, for the operator
    # The last failure's kind, a FailureKind code (domain/models.py), which the panel reads.
    Column("failure_kind", String(16)),
    # A scheduled send: not before this time. The claim reads next_attempt_at, which a
    # scheduled message is stored with set to this time, so ix_messages_due keeps it out of
    # every claim until it is due.
    Column("not_before", UtcDateTime),
    Column("backup_sender", String(20)),  # the line tried when the sender line cannot send
    # The request a message answered (its idempotency reference), for a repeat that lands on
    # another process; only sends without a verification carry one.
    Column("ref", String(32)),
    Index("ix_messages_due", "status", "next_attempt_at"),
    Index("ix_messages_provider", "transport", "provider_message_id"),
    Index("ix_messages_account", "account_id", "id"),
    # An account's messages by time: Statistics and GetMessages read one window of them.
    Index("ix_messages_account_created", "account_id", "created_at", "id"),
    # The panel's message log and the operator's search, newest first by (created_at, id):
    # one index per filter, so a page is a range of an index (adapters/store/message_log.py).
    Index("ix_messages_created", "created_at", "id"),
    Index("ix_messages_status_created", "status", "created_at", "id"),
    Index("ix_messages_account_status", "account_id", "status", "created_at", "id"),
    Index("ix_messages_mobile", "mobile", "created_at", "id"),
    Index("ix_messages_token", "token_id", "created_at", "id"),
    Index(
        "ix_messages_ref",
        "account_id",
        "ref",
        sqlite_where=text("ref IS NOT NULL"),
        postgresql_where=text("ref IS NOT NULL"),
    ),
)

verifications = Table(
    "verifications",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False, unique=True),
    Column("mobile", String(20), nullable=False),
    Column("code_digest", LargeBinary(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("attempts_left", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The code sealed with a key derived from the server secret, so that a re-send within
    # the validity can send the same code; wiped when the verification is over.
    Column("code_sealed", LargeBinary(8)),
    Column("sandbox", Boolean, nullable=False, default=False),  # a test number: never sent
    Column("metadata", Text),  # the caller's metadata (JSON), from /v1
    # The number's newest verification (a check by number), and its pending one (a new send).
    Index("ix_verifications_lookup", "account_id", "mobile", "created_at"),
)

# The index of the numbers' trigrams that finds a part of a number in the message log
# (migration 0120, adapters/store/message_log.py), which a Table cannot declare: on
# PostgreSQL a GIN index (pg_trgm); on SQLite an FTS5 table and its shadow tables, the id it
# is written up to (adapters/store/number_index.py), and the triggers on `messages` that take
# an indexed message out of it. A migration that copies `messages` into a new table (a batch
# on SQLite) drops those triggers and must make them again.
# And on PostgreSQL alone, `ix_verifications_pending` (migration 0120): the verifications
# still pending, the rare outcome the log filters by; SQLite's planner finds them as fast
# among the account's newest messages, and there every accept would pay for the index.
UNDECLARED_OBJECTS = frozenset(
    {
        "ix_verifications_pending",
        "ix_messages_mobile_trigrams",
        "messages_mobile",
        "messages_mobile_progress",
        "messages_mobile_config",
        "messages_mobile_data",
        "messages_mobile_docsize",
        "messages_mobile_idx",
    }
)

account_settings = Table(
    "account_settings",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("settings", Text, nullable=False),  # JSON: overrides of the fraud-guard defaults
    Column("updated_at", UtcDateTime, nullable=False),
)

orphan_reports = Table(
    "orphan_reports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("transport", String(40), nullable=False),
    Column("provider_message_id", String(80), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_orphan_reports_provider", "transport", "provider_message_id"),
)

credit_changes = Table(
    "credit_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# the panel -------------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("password_hash", String(200), nullable=False),  # argon2id, PHC string
    Column("role", String(16), nullable=False),  # user | operator
    Column("account_id", Id, ForeignKey("accounts.id"), index=True),  # None for operators
    Column("active", Boolean, nullable=False, default=True),
    Column("locale", String(8), nullable=False, default="fa"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_sign_in_at", UtcDateTime),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("digest", LargeBinary(32), nullable=False, unique=True),  # keyed hash of the cookie
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# What a panel page keeps for a moment between two requests: a new token's secret until the
# page after the redirect shows it, a form's fields while its sender signs in again. Sealed
# with a key derived from a random id that only the browser holds (the row keeps a keyed
# hash of it), for an owner (a user or a browser) it is given back to, and short-lived.
panel_drafts = Table(
    "panel_drafts",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("owner", LargeBinary(32), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# Failed sign-ins, counted per key: an email from an address ("pair:"), an address over
# every email ("address:"), an email from addresses it never signed in from ("email:").
# Counted in one transaction before the password is checked (users.py says why).
sign_in_limits = Table(
    "sign_in_limits",
    metadata,
    Column("key", String(320), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
    Index("ix_sign_in_limits_last_at", "last_at"),
)

# The addresses (an IPv6 address's /64) each email signed in from: they pass its own limit.
sign_in_addresses = Table(
    "sign_in_addresses",
    metadata,
    Column("email", String(254), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("last_at", UtcDateTime, nullable=False),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("digest", LargeBinary(32), nullable=False, unique=True),  # keyed hash of the link
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id")),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("actor_id", Id, ForeignKey("users.id")),  # None: the command line
    Column("actor", String(254), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(80), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("ip", String(45)),
    Column("created_at", UtcDateTime, nullable=False),
)

account_webhooks = Table(
    "account_webhooks",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", String(80), nullable=False),  # signs each delivery report (HMAC)
    Column("updated_at", UtcDateTime, nullable=False),
)

# routes and delivery reports to clients ----------------------------------------------------

routes = Table(
    "routes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),  # messages.transport names it
    Column("kind", String(16), nullable=False),  # smpp | amoot | kavenegar
    # The route URL holds a password or token: sealed with a key derived from the server
    # secret (store/routes.py); `shown` is the same URL with the credential blanked.
    Column("url_sealed", LargeBinary, nullable=False),
    Column("shown", Text, nullable=False),
    Column("prefixes", Text, nullable=False, default=""),  # destination prefixes; "" = any
    Column("accounts", Text, nullable=False, default=""),  # account ids; "" = every account
    # Sender lines it carries; "" = any line.
    Column("lines", Text, nullable=False, default="", server_default=""),
    Column("priority", Integer, nullable=False, default=10),  # lower is tried first
    Column("created_at", UtcDateTime, nullable=False),
    # Off: stored, shown and testable from the panel, but no dispatcher loads it.
    Column("enabled", Boolean, nullable=False, default=True, server_default=true()),
    Column("updated_at", UtcDateTime),  # its last change from the panel; None: never changed
)

# A route down or failing, one row a spell: open while cleared_at is None, at most one open a
# route (the partial unique index), so dispatchers that see the same route agree on one.
route_alarms = Table(
    "route_alarms",
    metadata,
    Column("id", Id, primary_key=True),
    Column("route", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # failing | down
    Column("detail", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime),
    Column("notice", Text, nullable=False, default="", server_default=""),
    Index(
        "ix_route_alarms_open",
        "route",
        unique=True,
        sqlite_where=text("cleared_at IS NULL"),
        postgresql_where=text("cleared_at IS NULL"),
    ),
    Index("ix_route_alarms_opened", "opened_at"),
)

# Notices of route alarms owed to QUICKOTP_ROUTE_ALARM_URL (opened, changed, cleared), kept
# until posted or given up so a restart loses none; claimed under a lease like
# event_deliveries. `kind` and `detail` are the alarm's at the step, `created_at` its time.
route_alarm_notices = Table(
    "route_alarm_notices",
    metadata,
    Column("id", Id, primary_key=True),
    Column("alarm_id", Id, ForeignKey("route_alarms.id"), nullable=False),
    Column("step", String(16), nullable=False),  # opened | changed | cleared
    Column("kind", String(16), nullable=False),  # failing | down
    Column("detail", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_route_alarm_notices_due", "state", "next_attempt_at"),
)

relay_urls = Table(
    "relay_urls",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_relay_urls_account", "account_id", "active"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("status", String(16), nullable=False),  # the message status being reported
    Column("state", String(16), nullable=False),  # pending | sending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_status_code", Integer),  # the receiver's HTTP status, last attempt
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),  # when its last attempt ended; None: none yet
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_message", "message_id"),
)

# retention ------------------------------------------------------------------------------

# What pruned messages leave behind: their counts per account, day, transport, status and
# verification status, so that the panel's figures (and Statistics) do not drop after a
# prune (adapters/store/retention.py fills it, adapters/store/day_counts.py reads it).
message_days = Table(
    "message_days",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("day", UtcDateTime, primary_key=True),  # the day's start in the panel's zone
    Column("transport", String(40), primary_key=True),  # "" for none (never taken)
    Column("status", String(16), primary_key=True),
    Column("verification", String(24), primary_key=True),  # its status; "" for none
    Column("messages", BigInteger, nullable=False),
    Column("parts", BigInteger, nullable=False),
    Column("charged", BigInteger, nullable=False),
)

# accounts and alerts -----------------------------------------------------------------------

# Sign-in attempts on a known email, for their user to see: the newest 50 a user, none older
# than 90 days (services/users.py keeps them so, at each write).
sign_in_history = Table(
    "sign_in_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("address", String(45)),
    Column("user_agent", String(300), nullable=False),
    Column("outcome", String(24), nullable=False),  # domain/credentials.py SignInOutcome
    Index("ix_sign_in_history_user", "user_id", "id"),
)

# One-time password reset links an operator makes: a keyed hash of the link's secret.
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

# A user's TOTP key for two-step sign-in, sealed (domain/sealing.py) with a key derived from
# QUICKOTP_SECRET_KEY and bound to the user.
totp_secrets = Table(
    "totp_secrets",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("enabled_at", UtcDateTime),  # None: enrolment waits for its first code
    Column("last_step", BigInteger),  # the newest time step a code was taken from
    Column("created_at", UtcDateTime, nullable=False),
)

# One-time recovery codes of two-step sign-in: keyed hashes only.
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("used_at", UtcDateTime),
)

# Sign-ins whose password was right, waiting for their two-step code: a keyed hash of the
# secret the browser holds (a short-lived cookie).
sign_in_challenges = Table(
    "sign_in_challenges",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# An account's low-credit threshold, set by the operator or the account's users.
credit_alerts = Table(
    "credit_alerts",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("threshold", BigInteger, nullable=False),  # rial
    # When the alert of the present crossing went out; None: armed again (the credit was seen
    # at or above the threshold since, or the threshold changed).
    Column("alerted_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Webhook events owed to accounts' URLs (the low-credit alert), claimed under a lease like
# webhook_deliveries; `body` is the JSON as it was when the event was owed.
event_deliveries = Table(
    "event_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_event_deliveries_due", "state", "next_attempt_at"),
    Index("ix_event_deliveries_account", "account_id", "id"),
)
