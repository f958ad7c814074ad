"""Tracing: with a tracer, a message's accept, dispatch and delivery report each make a span
carrying its id and never its code or number; without OTEL_EXPORTER_OTLP_ENDPOINT nothing of
OpenTelemetry is even imported."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import build_app, build_runtime
from quickotp.domain.models import MessageStatus
from quickotp.support import tracing
from tests.conftest import make_settings, seed

NUMBER = "09121234567"


@pytest.mark.anyio
async def test_a_message_makes_three_spans_with_its_id_and_no_secret(
    database_url: str, tmp_path: Path
) -> None:
    """Accept, dispatch and report spans, each with the message id; no code or number anywhere."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = tracing.with_provider(provider)
    runtime = build_runtime(
        make_settings(database_url, QUICKOTP_SINK_FILE=str(tmp_path / "sms.jsonl")),
        dispatch=True,
        spans=spans,
    )
    await upgrade(runtime.engines)
    seeded = await seed(runtime)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=build_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            sent = (
                await http.post(
                    "/rest/SendQuickOTP",
                    headers={"Authorization": seeded.token},
                    data={"Mobile": NUMBER, "CodeLength": "8"},
                )
            ).json()["Data"]
        message_id = sent["MessageID"]
        async with asyncio.timeout(10):
            while (await runtime.store.get_messages(seeded.account_id, [message_id]))[
                message_id
            ].status is not MessageStatus.DELIVERED:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # the report's span is recorded once its commit returns
    finally:
        await runtime.aclose()

    finished = exporter.get_finished_spans()
    by_name = {span.name: dict(span.attributes or {}) for span in finished}
    assert set(by_name) == {"quickotp.accept", "quickotp.dispatch", "quickotp.report"}
    assert all(a["quickotp.message_id"] == message_id for a in by_name.values())
    assert by_name["quickotp.dispatch"]["quickotp.outcome"] == "submitted"
    assert by_name["quickotp.report"]["quickotp.state"] == "delivered"
    values = [str(v) for span in finished for v in (span.attributes or {}).values()]
    values += [span.name for span in finished]
    secrets = [sent["Code"], NUMBER, NUMBER[1:], "98" + NUMBER[1:]]
    assert [v for v in values for s in secrets if s in v] == []
    assert all((s.start_time or 0) <= (s.end_time or 0) for s in finished)


def test_without_the_endpoint_opentelemetry_is_not_loaded(tmp_path: Path) -> None:
    """A runtime built with OTEL_EXPORTER_OTLP_ENDPOINT unset imports no opentelemetry module."""
    probe = (
        "import sys\n"
        "from quickotp.bootstrap import build_runtime\n"
        "from quickotp.settings import Settings\n"
        f"env = {{'QUICKOTP_SECRET_KEY': 'k' * 43, 'QUICKOTP_DATABASE_URL': 'sqlite:///{tmp_path}/q.db'}}\n"
        "runtime = build_runtime(Settings.from_env(env))\n"
        "print(runtime.spans.on, sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.strip() == "False []"


def test_with_the_endpoint_spans_go_to_an_otlp_exporter(tmp_path: Path) -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT set: tracing is on, batched to the OTLP/HTTP exporter."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/q.db", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318"
    )

    runtime = build_runtime(settings, dispatch=False)

    try:
        assert runtime.spans.on
        assert runtime.gateway.spans is runtime.spans
    finally:
        runtime.spans.shutdown()
