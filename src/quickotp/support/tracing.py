"""
OpenTelemetry spans of a message's way through the gateway: its accept, its dispatch (the
transport's send) and its delivery report, each with the message id as an attribute and
never its code or number. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then they are
exported over OTLP/HTTP to it (the `tracing` extra: `pip install 'quickotp[tracing]'`).

The opentelemetry packages are imported only when tracing is on. Off, a span costs its
caller one attribute test (`spans.on`) and nothing else: the callers take the start time
only when it is on, and record each span whole once its outcome is known.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

Attribute = str | int | float | bool


class Spans:
    """Where finished spans go: an OpenTelemetry tracer, or nowhere (`OFF`)."""

    def __init__(self, tracer: Any = None, provider: Any = None) -> None:
        self.on = tracer is not None
        self._tracer = tracer
        self._provider = provider

    def record(
        self,
        name: str,
        start_ns: int,
        attributes: Mapping[str, Attribute],
        end_ns: int | None = None,
    ) -> None:
        """A span `name` from `start_ns` to `end_ns` (now, by default), with `attributes`."""
        if not self.on:
            return
        span = self._tracer.start_span(name, start_time=start_ns, attributes=dict(attributes))
        span.end(end_time=end_ns if end_ns is not None else time.time_ns())

    def shutdown(self) -> None:
        """Export what is still buffered, and stop (at the end of the process)."""
        if self._provider is not None:
            self._provider.shutdown()


OFF = Spans()


def otlp(env: Mapping[str, str]) -> Spans:
    """
    Spans batched to the OTLP/HTTP collector that OTEL_EXPORTER_OTLP_ENDPOINT names (the
    exporter reads it and the other OTEL_EXPORTER_OTLP_* variables of `env` itself).
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME, when set, names the service; "quickotp" otherwise.
    named = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": "quickotp"}
    provider = TracerProvider(resource=Resource.create(named))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return with_provider(provider)


def with_provider(provider: Any) -> Spans:
    """Spans to `provider`, an OpenTelemetry TracerProvider (tests give one in memory)."""
    return Spans(provider.get_tracer("quickotp"), provider)
