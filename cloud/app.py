"""The FastAPI application of the district center: ``create_app(settings)``.

Resources (database, notifier, outbox worker) are built in the lifespan and kept on
``app.state.cloud``; the live hub and the metrics registry exist from ``create_app`` on, so the
server can end the live streams before it waits for open connections at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cloud.auth import accounts
from cloud.auth import admin_views as account_views
from cloud.auth import views as auth_views
from cloud.auth.passwords import Passwords
from cloud.auth.seed import seed_staff
from cloud.auth.tokens import SessionSigner
from cloud.commands import views as command_views
from cloud.console.pages import router as console_router
from cloud.db import STARTUP_LOCK, Database, open_database
from cloud.drills import views as drill_views
from cloud.escalation import views as escalation_views
from cloud.escalation.policy import center_policies
from cloud.escalation.scheduler import EscalationScheduler
from cloud.http_errors import install_error_handlers
from cloud.inbound import aliyun as aliyun_webhooks
from cloud.inbound import bridge as bridge_webhooks
from cloud.inbound import dev_phone as notify_views
from cloud.inbound import voice as voice_webhooks
from cloud.inbound import webhooks as notify_webhooks
from cloud.intake import views as intake_views
from cloud.live.broadcast import load_incident_event
from cloud.live.hub import LiveHub
from cloud.live.relay import PostgresRelay, application_name, asyncpg_connection, new_worker_id
from cloud.live.stream import router as stream_router
from cloud.metrics import CloudMetrics, scrape_allowed
from cloud.notify.port import Notifier
from cloud.notify.providers import build_providers
from cloud.notify.worker import OutboxWorker
from cloud.plans import views as plan_views
from cloud.registry import service as registry_service
from cloud.registry import views as registry_views
from cloud.registry.demo import load_demo
from cloud.reports import views as report_views
from cloud.response import call_views, record_views
from cloud.response import views as incident_views
from cloud.retention.policy import RetentionPolicy
from cloud.retention.purge import RetentionJob
from cloud.settings import CloudSettings
from cloud.state import CloudState

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _first_password(settings: CloudSettings) -> str:
    if settings.operator_password is not None:
        return settings.operator_password.get_secret_value()
    generated = secrets.token_urlsafe(12)
    log.warning(
        "auth.generated_password username=operator password=%s "
        "(set ANXIN_CLOUD_OPERATOR_PASSWORD to choose one)",
        generated,
    )
    return generated


def _session_signer(settings: CloudSettings) -> SessionSigner:
    if settings.session_secret is not None:
        return SessionSigner(settings.session_secret.get_secret_value().encode())
    log.info("auth.ephemeral_session_secret (sessions end when the service restarts)")
    return SessionSigner(secrets.token_bytes(32))


async def _prepare_registry(db: Database, settings: CloudSettings, passwords: Passwords, now_ms: int) -> None:
    async with db.sessions() as session:
        seeded = await registry_service.seed_district(session=session)
        demo = settings.demo_data and await load_demo(session=session, now_ms=now_ms)
        needs_staff = not await accounts.count_accounts(session=session)
        await session.commit()
    if needs_staff:  # hash outside the transaction (argon2 is slow on purpose)
        password_hash = await asyncio.to_thread(passwords.hash, _first_password(settings))
        async with db.sessions() as session:
            staff = await seed_staff(
                session=session, password_hash=password_hash, demo=settings.demo_data, now_ms=now_ms
            )
            await session.commit()
        log.info("staff.seeded accounts=%s", ",".join(staff))
    if seeded or demo:
        log.info("registry.seeded district=%s demo=%s", seeded, demo)


def _relay_jobs(
    app: FastAPI, settings: CloudSettings, state: CloudState
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """On PostgreSQL, the relay that shares live events with the other center workers, attached to the
    hub (``app.state.live_relay``); nothing on SQLite, where one process is the unit."""
    app.state.live_relay = relay = _live_relay(settings, state.db, state.hub, state.metrics)
    if relay is None:
        return []
    state.hub.attach_relay(relay.forward)
    return [("live-relay", relay.run())]


def _live_relay(
    settings: CloudSettings, db: Database, hub: LiveHub, metrics: CloudMetrics
) -> PostgresRelay | None:
    if not db.shared:
        return None

    async def load(incident_id: int) -> dict[str, Any] | None:
        return await load_incident_event(db, incident_id)

    worker_id = new_worker_id()
    return PostgresRelay(
        hub=hub,
        connect=lambda: asyncpg_connection(settings.database_url, name=application_name(worker_id)),
        load_incident=load,
        metrics=metrics,
        worker_id=worker_id,
    )


def _background_jobs(
    settings: CloudSettings, state: CloudState, now_ms: Callable[[], int]
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The service's background loops: the SMS outbox, the escalation scheduler, the retention purge."""
    db, metrics = state.db, state.metrics
    worker = OutboxWorker(
        sessions=db.sessions,
        notifier=state.notifier,
        now_ms=now_ms,
        wakeup=state.outbox_wakeup,
        metrics=metrics,
        max_attempts=settings.notify_retry_max,
        send_timeout_s=settings.notify_timeout_s,
        on_failed=state.escalation_wakeup,
    )
    scheduler = EscalationScheduler(
        db=db,
        hub=state.hub,
        now_ms=now_ms,
        wakeup=state.escalation_wakeup,
        outbox_wakeup=state.outbox_wakeup,
        metrics=metrics,
        late_grace_ms=round(settings.escalation_late_grace_s * 1000),
    )
    retention = RetentionJob(
        sessions=db.sessions,
        policy=RetentionPolicy(incident_days=settings.incident_retention_days),
        now_ms=now_ms,
        interval_s=settings.retention_interval_s,
    )
    return [
        ("notify-outbox", worker.run()),
        ("escalation-scheduler", scheduler.run()),
        ("retention", retention.run()),
    ]


def create_app(
    settings: CloudSettings,
    *,
    now_ms: Callable[[], int] = wall_clock_ms,
    twilio_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The district center's API. ``now_ms`` and ``twilio_transport`` are seams for tests."""
    hub = LiveHub()
    metrics = CloudMetrics()
    policies = center_policies(settings.escalation_policies)  # a bad policy fails here, before serving

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await open_database(settings.database_url)
        notifier: Notifier | None = None
        try:
            passwords = await asyncio.to_thread(
                Passwords, settings.password_hash_memory_kib, settings.password_hash_time_cost
            )
            async with db.exclusive(STARTUP_LOCK):  # workers starting together: one seeds, once
                await _prepare_registry(db, settings, passwords, now_ms())
            providers = build_providers(settings, db, hub, now_ms, twilio_transport)
            notifier = providers.notifier
            state = CloudState(
                dialer=providers.dialer,
                settings=settings,
                db=db,
                hub=hub,
                metrics=metrics,
                notifier=notifier,
                signer=_session_signer(settings),
                passwords=passwords,
                policies=policies,
                now_ms=now_ms,
            )
            app.state.cloud = state
            jobs = _background_jobs(settings, state, now_ms) + _relay_jobs(app, settings, state)
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(job, name=name) for name, job in jobs]
                log.info(
                    "cloud.started backend=%s notifier=%s live_relay=%s",
                    db.engine.url.get_backend_name(),
                    settings.notifier,
                    app.state.live_relay.worker_id if app.state.live_relay is not None else "-",
                )
                try:
                    yield
                finally:
                    hub.close()
                    for task in tasks:
                        task.cancel()
        finally:
            app.state.cloud = None
            hub.attach_relay(None)
            hub.close()
            if notifier is not None:
                await notifier.aclose()
            await db.close()
            log.info("cloud.stopped")

    app = FastAPI(
        title="Anxin 安心 — district alert dispatch",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs" if settings.api_docs else None,
        openapi_url="/api/openapi.json" if settings.api_docs else None,
    )
    app.state.hub = hub
    app.state.metrics = metrics
    app.state.cloud = None
    app.state.live_relay = None
    install_error_handlers(app)
    for router in (
        auth_views.router,
        account_views.router,
        plan_views.router,
        report_views.router,
        drill_views.router,
        escalation_views.router,
        registry_views.router,
        intake_views.router,
        incident_views.router,
        record_views.router,  # the resident record on an incident (console)
        command_views.router,
        stream_router,
        notify_views.router,
        notify_webhooks.router,  # Twilio inbound SMS and status callbacks
        voice_webhooks.router,  # Twilio: the ladder's voice calls (TwiML, keypad, status)
        bridge_webhooks.router,  # Twilio: click-to-call (TwiML, outcome)
        aliyun_webhooks.router,  # Aliyun SMS: delivery reports and answers (HTTP push)
        call_views.router,  # click-to-call from the resident record
        console_router,  # pages and static files of the operator console (cloud/console/)
    ):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/console")

    _add_health_route(app)
    _add_metrics_route(app, metrics, settings)

    return app


def _add_health_route(app: FastAPI) -> None:
    """``GET /healthz``: 200 once the lifespan ran and the database answers (503 otherwise)."""

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        state: CloudState | None = app.state.cloud
        if state is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S), state.db.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health.db_failed")
            return JSONResponse({"status": "db_unavailable"}, status_code=503)
        relay: PostgresRelay | None = app.state.live_relay
        if relay is None:
            return JSONResponse({"status": "ok"})
        # the other workers' live events: "reconnecting" still serves, but consoles here miss them
        live = "listening" if relay.listening.is_set() else "reconnecting"
        return JSONResponse({"status": "ok", "live_relay": live, "worker": relay.worker_id})


def _add_metrics_route(app: FastAPI, metrics: CloudMetrics, settings: CloudSettings) -> None:
    """``GET /metrics``: to ``Bearer <metrics_token>`` only, or to loopback clients when there is none."""
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not scrape_allowed(
            token=metrics_token, authorization=request.headers.get("authorization"), client_host=client
        ):
            return Response(
                "metrics need a bearer token (ANXIN_CLOUD_METRICS_TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
                media_type="text/plain",
            )
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
