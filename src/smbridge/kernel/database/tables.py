"""The database schema, and the mapping of domain classes onto it (domain stays plain)."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import composite, registry, relationship

from smbridge.domain.notification import DeliveryState, Notification
from smbridge.domain.order import Order
from smbridge.domain.pick import PickRecord, PositionSource
from smbridge.domain.picker import Picker, Shift
from smbridge.domain.pickup import CODE_IN_USE
from smbridge.domain.position import Position
from smbridge.domain.sales import SalesDocument, SalesLine
from smbridge.domain.sm_order import SmOrderHeader, SmOrderLine
from smbridge.domain.status import OrderStatus
from smbridge.domain.store import Store
from smbridge.domain.telegram import AlertEvent, MessageStatus, OutgoingMessage
from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.kernel.database.column_types import EnumText, ExactDecimal, JsonDocument, UtcDateTime

#: The orders whose handout code is in use: pickup orders assembled, not yet handed over.
OPEN_HANDOUT_CODE = (
    "handout_code IS NOT NULL"
    f" AND status IN ({', '.join(repr(status.value) for status in CODE_IN_USE)})"
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

stores = Table(
    "stores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sm_store_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("telegram_chat_id", String(64)),
    Column("assembly_lead_minutes", Integer),
    Column("import_key", String(64)),
    Column("active", Boolean, nullable=False, default=True),
)

# SM's free texts (states, names, reasons) are Text: SM does not promise lengths, and an
# event must never fail to apply because a text ran long. Identifiers stay bounded and are
# checked at the edge.
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sm_order_id", String(64), nullable=False, unique=True),
    Column("number", String(32), unique=True),
    Column("sm_uuid", String(64)),
    # No store while the order waits for its SM store to be mapped (orders/unmapped.py).
    Column("store_id", ForeignKey("stores.id")),
    Column("sm_store_id", Text),  # SM's storeID and storeImportKey, as they came
    Column("sm_store_import_key", Text),
    Column("status", EnumText(OrderStatus, 32), nullable=False),
    # The columns of SM's header (sm_uuid, sm_state, ... complete_before) bear the names of
    # SmOrderHeader's fields: the mapper below finds them by name.
    Column("sm_state", Text),
    Column("payment_state", Text),
    Column("comment", Text),
    Column("customer_name", Text),
    Column("customer_phone", Text),
    Column("customer", JsonDocument, nullable=False),
    Column("address", JsonDocument, nullable=False),
    Column("delivery_from", UtcDateTime),
    Column("delivery_to", UtcDateTime),
    Column("is_planned", Boolean),
    Column("total_price", ExactDecimal),
    Column("discount_total_price", ExactDecimal),
    Column("delivery_cost", ExactDecimal),
    Column("payment_methods", JsonDocument, nullable=False),
    Column("shipment_method", Text),
    Column("replacement_policy", Text),
    Column("complete_before", UtcDateTime),
    Column("expected_assembly_at", UtcDateTime, nullable=False),
    Column("picker_id", Integer),
    Column("received_at", UtcDateTime, nullable=False),
    Column("taken_at", UtcDateTime),
    Column("assembled_at", UtcDateTime),
    Column("ready_at", UtcDateTime),
    Column("handed_over_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),
    Column("cancelled_by", String(16)),
    Column("paid_amount", ExactDecimal),
    Column("paid_at", UtcDateTime),
    Column("courier_assigned_at", UtcDateTime),
    Column("courier_arrived_at", UtcDateTime),
    Column("changed_by_customer", Boolean, nullable=False, default=False),
    Column("changed_at", UtcDateTime),
    Column("bags", Integer),
    Column("sales_document_id", Integer),  # set with the document, in its transaction
    # A pickup order's handout code (domain/pickup.py) and its guard against guessing
    Column("handout_code", String(16)),
    Column("handout_wrong_tries", Integer, nullable=False, default=0, server_default="0"),
    Column("handout_locked_until", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    # The store's board reads active orders by store and status; monitoring and the sales
    # documents job by status alone.
    Index("ix_orders_store_status", "store_id", "status"),
    Index("ix_orders_status", "status"),
    # Each monitoring rule reads a range of one status by one time: only matching rows.
    Index("ix_orders_status_received_at", "status", "received_at"),
    Index("ix_orders_status_expected_assembly_at", "status", "expected_assembly_at"),
    Index("ix_orders_status_delivery_from", "status", "delivery_from"),
    Index("ix_orders_status_courier_arrived_at", "status", "courier_arrived_at"),
    # Delivered orders still waiting for their sales document, in id order, read straight
    # from the index: the cost follows the backlog, never the history.
    Index("ix_orders_status_document", "status", "sales_document_id", "id"),
    # The reports read a period of orders by when they came, of all stores (from the index
    # alone: it carries what they count) or of one store.
    Index(
        "ix_orders_received_at",
        "received_at",
        "store_id",
        "status",
        "taken_at",
        "assembled_at",
        "expected_assembly_at",
    ),
    Index("ix_orders_store_id_received_at", "store_id", "received_at"),
    # A handout code names one open pickup order of its store: two pickers finishing at
    # once both read the codes in use before either wrote, so the database keeps it true.
    Index(
        "uq_orders_store_handout_code",
        "store_id",
        "handout_code",
        unique=True,
        sqlite_where=text(OPEN_HANDOUT_CODE),
        postgresql_where=text(OPEN_HANDOUT_CODE),
    ),
)

order_positions = Table(
    "order_positions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    # The columns of SM's line (sku ... state) bear the names of SmOrderLine's fields; the
    # picker's record (picked_*, marking_codes, source, replaces_line_no) is a PickRecord.
    Column("sku", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("original_quantity", ExactDecimal, nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("picked_quantity", ExactDecimal),
    Column("weight_grams", ExactDecimal),
    Column("picked_weight_grams", ExactDecimal),
    Column("price", ExactDecimal),
    Column("discount_price", ExactDecimal),
    Column("total_price", ExactDecimal),
    Column("total_discount_price", ExactDecimal),
    Column("replaced_by_sku", String(64)),
    Column("state", Text),
    Column("source", EnumText(PositionSource, 16), nullable=False),
    Column("replaces_line_no", Integer),  # a substitute: the line it stands in for
    Column("marking_codes", JsonDocument, nullable=False),
    UniqueConstraint("order_id", "line_no"),
)

webhook_journal = Table(
    "webhook_journal",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_key", String(64), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("sm_order_id", String(64)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("last_received_at", UtcDateTime),
    Column("deliveries", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", JsonDocument, nullable=False),
    Column("status", EnumText(JournalStatus, 16), nullable=False),
    Column("detail", Text),
    Column("attempts", Integer, nullable=False),
    Column("applied_at", UtcDateTime),
    Column("reply_status", Integer, nullable=False),
    Column("reply_body", JsonDocument, nullable=False),
    Column("order_id", ForeignKey("orders.id")),
    # Parked events are looked up by order when it arrives; failures by status.
    Index("ix_webhook_journal_order_status", "sm_order_id", "status"),
    Index("ix_webhook_journal_status", "status"),
)

telegram_outbox = Table(
    "telegram_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", String(64)),
    Column("text", Text, nullable=False),
    Column("store_id", ForeignKey("stores.id")),
    Column("order_id", ForeignKey("orders.id")),
    Column("status", EnumText(MessageStatus, 16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("not_before", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("telegram_message_id", Integer),
    Column("error", Text),
    Column("parts_sent", Integer, nullable=False, server_default="0"),
    # A monitoring alert names its problem, so the sender can drop it once it is stale.
    Column("problem_id", Integer),
    Column("alert_event", EnumText(AlertEvent, 16)),
    Index("ix_telegram_outbox_status_id", "status", "id"),
    Index("ix_telegram_outbox_problem_id", "problem_id"),
    Index("ix_telegram_outbox_order_id", "order_id"),  # an order card's timeline
)

telegram_archive = Table(
    "telegram_archive",
    metadata,
    Column("id", Integer, primary_key=True),
    # Not unique: SQLite may hand a deleted outbox id to a new message.
    Column("outbox_id", Integer, nullable=False),
    Column("chat_id", String(64)),
    Column("text", Text, nullable=False),
    Column("store_id", Integer),
    Column("order_id", Integer),
    Column("status", String(16), nullable=False),  # sent | failed | dropped
    Column("created_at", UtcDateTime, nullable=False),
    Column("archived_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("message_ids", JsonDocument, nullable=False),
    Column("error", Text),
    Column("problem_id", Integer),
    Index("ix_telegram_archive_archived_at", "archived_at"),
    Index("ix_telegram_archive_order_id", "order_id"),  # an order card's timeline
)

pickers = Table(
    "pickers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("telegram_chat_id", String(64)),
    Column("active", Boolean, nullable=False, default=True),
)

picker_shifts = Table(
    "picker_shifts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("picker_id", ForeignKey("pickers.id"), nullable=False),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    # At most one open shift per picker, enforced by the database itself.
    Index(
        "uq_picker_shifts_open",
        "picker_id",
        unique=True,
        sqlite_where=text("closed_at IS NULL"),
        postgresql_where=text("closed_at IS NULL"),
    ),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),  # never the token itself
    Column("label", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("method", String(64), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("store_id", "request_id"),
    Index("ix_idempotency_keys_created_at", "created_at"),  # the retention purge
)

sm_notifications = Table(
    "sm_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("sm_order_id", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("state", EnumText(DeliveryState, 16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("last_response", Text),
    # The dispatcher looks for due rows; an order's queue is read in id order.
    Index("ix_sm_notifications_state_next", "state", "next_attempt_at"),
    Index("ix_sm_notifications_order_id", "order_id", "id"),
    # The reports' period, read from the index alone.
    Index("ix_sm_notifications_created_at", "created_at", "type", "state", "delivered_at"),
)

job_leases = Table(
    "job_leases",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("owner", String(64)),
    Column("lease_until", UtcDateTime),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("counts", JsonDocument, nullable=False),
    Column("error", Text),
    Index("ix_job_runs_job_started", "job", "started_at"),
)

sales_documents = Table(
    "sales_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    # Exactly one per order, whatever runs overlap or crash: the database guarantees it.
    Column("order_id", ForeignKey("orders.id"), nullable=False, unique=True),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("document_date", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("order_number", String(32), nullable=False),
    Column("sm_order_id", String(64), nullable=False),
    Column("customer_name", Text),
    Column("customer_inn", String(20)),
    Column("total", ExactDecimal, nullable=False),
    Column("discount", ExactDecimal, nullable=False),
    Column("paid_amount", ExactDecimal),
    Column("difference", ExactDecimal),
    Column("exported_at", UtcDateTime),  # the ERP acknowledged it over the API
    Column("files_written_at", UtcDateTime),  # JSON and CSV files are in the export folder
    Index("ix_sales_documents_exported_at", "exported_at"),
    Index("ix_sales_documents_created_at", "created_at"),
    Index("ix_sales_documents_files_written_at", "files_written_at"),
    # The reports' period, of all stores or of one.
    Index("ix_sales_documents_document_date", "document_date"),
    Index("ix_sales_documents_store_id_document_date", "store_id", "document_date"),
)

sales_document_lines = Table(
    "sales_document_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("sales_documents.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(500), nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("weight_grams", ExactDecimal),
    Column("price", ExactDecimal, nullable=False),
    Column("discount_price", ExactDecimal, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("discount", ExactDecimal, nullable=False),
    Column("replaces_sku", String(64)),
)

monitoring_problems = Table(
    "monitoring_problems",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("subject", String(128), nullable=False),  # e.g. "order:42", or "all"
    Column("chat_id", String(64)),
    Column("text", Text, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_reported_at", UtcDateTime, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("affected", Integer),  # an incident's count when last told; None: one subject
    Column("announced_at", UtcDateTime),  # when Telegram first took a message about it
    # One open problem per rule and subject; resolved ones stay as history.
    Index(
        "uq_monitoring_problems_open",
        "rule",
        "subject",
        unique=True,
        sqlite_where=text("resolved_at IS NULL"),
        postgresql_where=text("resolved_at IS NULL"),
    ),
    Index("ix_monitoring_problems_resolved_at", "resolved_at"),
)

monitoring_snapshots = Table(
    "monitoring_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("orders_by_status", JsonDocument, nullable=False),
    Column("late_orders", Integer, nullable=False),
    Column("notification_backlog", Integer, nullable=False),
    Column("telegram_backlog", Integer, nullable=False),
    Column("open_problems", Integer, nullable=False),
    Index("ix_monitoring_snapshots_taken_at", "taken_at"),
)

# --- staff accounts of the web UI (issue 12) ----------------------------------------------

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),  # kept lower-case
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("store_id", ForeignKey("stores.id")),  # set for store roles, NULL for the office
    Column("picker_id", ForeignKey("pickers.id")),  # the picker this account signs in as
    Column("password_hash", String(255), nullable=False),  # argon2, never the password
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),  # the cookie's hash only
    Column("user_id", ForeignKey("staff_users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_staff_sessions_expires_at", "expires_at"),  # the purge of expired sessions
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False),
    Column("address", String(64), nullable=False),  # the client's IP, for the per-address limit
    Column("at", UtcDateTime, nullable=False),
    Index("ix_login_failures_login_at", "login", "at"),
    Index("ix_login_failures_address_at", "address", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("user_id", ForeignKey("staff_users.id"), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_target", "target"),  # an order's timeline: who did what to it
)

# A monitoring rule silenced by operations until a moment (migration 0016): its problems are
# neither reported nor reminded of meanwhile. Thresholds set in the UI override the settings.
monitoring_mutes = Table(
    "monitoring_mutes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("muted_from", UtcDateTime, nullable=False),
    Column("muted_until", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("user_id", Integer),
    Index("ix_monitoring_mutes_muted_until", "muted_until"),
)

monitoring_thresholds = Table(
    "monitoring_thresholds",
    metadata,
    Column("name", String(64), primary_key=True),  # a MonitoringSettings field
    Column("value", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("user_id", Integer),
)

# The all-stores reports' figures of one settled day (migration 0019), written by the
# report roll-up job: a report over a quarter reads 90 rows instead of aggregating every
# order, position and notification of it. ``fingerprint`` is what the day's rows looked like
# when the figures were taken (counts and latest changes); a differing one means recompute.
report_days = Table(
    "report_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("fingerprint", String(200), nullable=False),
    Column("figures", JsonDocument, nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
)

# The lowest number the next order may get, per numbered table (migration 0021): a restore
# sets it past anything issued since its backup (kernel/database/numbering.py), so that no
# order number, nor a sales document's number made of it, is ever issued twice. SQLite's
# insert draws max(max(id), floor) + 1; PostgreSQL's sequence is moved as well.
number_floors = Table(
    "number_floors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("floor", BigInteger, nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
)

#: The columns of a position's PickRecord, in the order of its fields.
PICK_COLUMNS = (
    order_positions.c.picked_quantity,
    order_positions.c.picked_weight_grams,
    order_positions.c.marking_codes,
    order_positions.c.source,
    order_positions.c.replaces_line_no,
)

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the plain domain classes onto the tables (once per process)."""
    if any(m.class_ is Order for m in mapper_registry.mappers):
        return
    mapper_registry.map_imperatively(Store, stores)
    mapper_registry.map_imperatively(
        Position,
        order_positions,
        # A position is read through its two value objects only: the columns behind them get
        # private names, so no code can read or write a column beside its value object.
        column_prefix="_",
        properties={
            "id": order_positions.c.id,
            "line_no": order_positions.c.line_no,
            "line": composite(SmOrderLine, *_named_columns(order_positions, SmOrderLine)),
            "pick": composite(PickRecord, *PICK_COLUMNS),
        },
    )
    mapper_registry.map_imperatively(
        Order,
        orders,
        properties={
            "header": composite(SmOrderHeader, *_named_columns(orders, SmOrderHeader)),
            "positions": relationship(
                Position,
                order_by=order_positions.c.line_no,
                cascade="all, delete-orphan",
                lazy="selectin",
            ),
        },
        version_id_col=orders.c.version,
    )
    mapper_registry.map_imperatively(JournalEntry, webhook_journal)
    mapper_registry.map_imperatively(OutgoingMessage, telegram_outbox)
    mapper_registry.map_imperatively(Picker, pickers)
    mapper_registry.map_imperatively(Shift, picker_shifts)
    mapper_registry.map_imperatively(Notification, sm_notifications)
    mapper_registry.map_imperatively(SalesLine, sales_document_lines)
    mapper_registry.map_imperatively(
        SalesDocument,
        sales_documents,
        properties={
            "lines": relationship(
                SalesLine,
                order_by=sales_document_lines.c.line_no,
                cascade="all, delete-orphan",
                lazy="selectin",
            )
        },
    )


def _named_columns(table: Table, value_class: type[DataclassInstance]) -> list[Column[Any]]:
    """The table's columns named like the value object's fields, in the order of its fields."""
    return [table.c[value_field.name] for value_field in fields(value_class)]
