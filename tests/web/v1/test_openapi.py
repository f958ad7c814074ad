"""
/openapi.json held true by schemathesis against the running app, in process: whatever it
generates from the document, the app never answers 500 and every answer is documented.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode, checks
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi import checks as openapi_checks
from starlette.types import ASGIApp

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import build_runtime
from quickotp.web.app import create_app
from quickotp.web.openapi import DOCUMENT
from tests.conftest import make_settings, seed

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
EXAMPLES = 20  # per operation and mode: the whole run stays within seconds
_token: dict[str, str] = {}


def _app(path: Path) -> ASGIApp:
    """The gateway, migrated, seeded and started by its own lifespan (schemathesis drives it)."""
    runtime = build_runtime(make_settings(f"sqlite:///{path / 'openapi.db'}"), dispatch=False)

    async def startup() -> None:
        # Schemathesis's pytest plugin ends the lifespan after each test: this runs again.
        await upgrade(runtime.engines)
        await runtime.start()
        if _token:
            return
        seeded = await seed(runtime)
        await runtime.admin.set_free_text(seeded.account_id, True)  # POST /v1/messages' text
        _token["value"] = seeded.token
        # Somewhere for the checks and lookups to land: a verification and its message.
        caller = await runtime.gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
        await runtime.gateway.start_verification(caller, to="09121234567", code="12345")

    return create_app(runtime.gateway, on_startup=startup, on_shutdown=runtime.aclose)


# Numbers that parse, so sends and checks by number get past validation too.
schemathesis.openapi.format("mobile", st.from_regex(r"\A(\+98|0)?9[0-3][0-9]{8}\Z"))
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[asgi.ASGIClient]:
    """One in-process client; its app's lifespan runs once, in schemathesis's event loop."""
    app: Any = _app(tmp_path_factory.mktemp("oas"))
    with asgi.get_client(app) as client:
        yield client


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_every_answer_is_documented(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, session: asgi.ASGIClient
) -> None:
    """No 500 for anything generated from the document, and every answer is documented."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Case[Any]) -> None:
        case.call_and_validate(
            session=session,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {_token['value']}"},
            checks=CHECKS,
        )

    run()
