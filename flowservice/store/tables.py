"""ORM tables of the metadata DB (storage shapes, not wire shapes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[int] = mapped_column(BigInteger)


class ApiClient(Base):
    """An API client; its id is the ``x-api-key`` that goes with its tokens."""

    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[int] = mapped_column(BigInteger)


class Sandbox(Base):
    __tablename__ = "sandboxes"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_sandboxes_org_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    is_default: Mapped[bool]
    etag: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(255))
    updated_by: Mapped[str] = mapped_column(String(255))


class Resource(Base):
    """Every API resource kind (connections, flows, runs, ...) in one table.

    Common fields are columns; the kind-specific body is the ``doc`` JSON;
    secret values live encrypted in ``secret_doc``. Lists filter, order and
    page on the columns in SQL (``store.repos.resource_lists``); a run row's
    ``created_at`` is its run's own creation time, kept so by a trigger
    (migration 0004).
    """

    __tablename__ = "resources"
    __table_args__ = (
        # a kind in one sandbox in the lists' default order (createdAt, id): a page is an
        # index seek to the continuation token's bound, then ``limit`` rows
        Index("ix_resources_scope_created", "kind", "org_id", "sandbox_id", "created_at", "id"),
        # the runs of a flow (flowId==), source connections of a base connection, same order
        Index(
            "ix_resources_parent_created",
            "kind",
            "org_id",
            "sandbox_id",
            "parent_id",
            "created_at",
            "id",
        ),
        # runs by status (the scheduler's active runs, state==failed lists)
        Index("ix_resources_state", "kind", "state", "org_id", "sandbox_id", "created_at", "id"),
        # name== filters (the documented example), in the default order
        Index("ix_resources_name", "kind", "org_id", "sandbox_id", "name", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    sandbox_id: Mapped[str] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(1024))
    state: Mapped[str | None] = mapped_column(String(64))
    spec_id: Mapped[str | None] = mapped_column(String(64), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(255))
    updated_by: Mapped[str] = mapped_column(String(255))
    created_client: Mapped[str] = mapped_column(String(255))
    updated_client: Mapped[str] = mapped_column(String(255))
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_doc: Mapped[str | None] = mapped_column(Text)


class LeaseRow(Base):
    """A named, time-limited lease (scheduler leadership, run heartbeats); see ``flows.lease``."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    token: Mapped[int] = mapped_column(BigInteger)
    expires_at_ms: Mapped[int] = mapped_column(BigInteger)


class FlowWatermark(Base):
    """A flow's schedule position and the failed runs of the window it is at.

    ``watermark_us``: end of the last committed (or given-up) window; for
    snapshot flows the schedule position. ``failures``: scheduled runs of the
    next window that failed so far; ``retry_at_us``: when the next may start.
    """

    __tablename__ = "flow_watermarks"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    watermark_us: Mapped[int | None] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at_us: Mapped[int | None] = mapped_column(BigInteger)


class XdmVersion(Base):
    """A stored revision of a Schema Registry resource (the ``resources`` row is the latest).

    ``revision`` 0 is version ``1.0``, each change adds one (``1.1``, ``1.2``, ...).
    """

    __tablename__ = "xdm_versions"

    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)


class AlertOutboxRow(Base):
    """A run event (started, finished) waiting to be matched against alert subscriptions.

    Written by the worker right after the run's status is saved, only when the
    run's org and sandbox have a subscription; ``flowservice.alerts`` turns it
    into deliveries and deletes it.
    """

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36))
    org_id: Mapped[str] = mapped_column(String(255))
    sandbox_id: Mapped[str] = mapped_column(String(36))
    phase: Mapped[str] = mapped_column(String(16))
    facts: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)


class AlertDeliveryRow(Base):
    """One alert event for one subscription, and where its webhook delivery stands.

    ``(subscription_id, event_id)`` is unique: an event is delivered once per
    subscription however often it is derived. ``claimed_until`` is the
    compare-and-set a dispatcher takes before sending.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_alert_deliveries_event"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_subscription", "subscription_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    next_attempt_at: Mapped[int | None] = mapped_column(BigInteger)
    claimed_until: Mapped[int] = mapped_column(BigInteger, default=0)
    give_up_at: Mapped[int] = mapped_column(BigInteger)
    delivered_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


class ConsoleSessionRow(Base):
    """A signed-in browser of the console: who it acts as, in which sandbox, until when.

    ``id_hash`` is the SHA-256 of the cookie's secret, so a copy of the table
    signs no one in. ``csrf_token`` goes into every form of the session.
    """

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_expires", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(16))
    sandbox_name: Mapped[str] = mapped_column(String(255))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class ConsoleLinkUseRow(Base):
    """The nonce of a one-time console link that has been used (a second use hits the key)."""

    __tablename__ = "console_link_uses"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class ConnectionTestRow(Base):
    """The outcome of a base connection's last test (``GET /connections/{id}/test``)."""

    __tablename__ = "connection_tests"

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    ok: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    tested_at: Mapped[int] = mapped_column(BigInteger)  # epoch milliseconds
