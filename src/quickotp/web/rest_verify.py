"""
`/rest/VerifyQuickOTP` (Token, Mobile, Code): our addition to the Amoot surface, in its
envelope. HTTP 200 always; `Status` is Success or one of our Code_* names (see README).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from quickotp.domain import phone
from quickotp.errors import GatewayError
from quickotp.models import Verification
from quickotp.service import Gateway
from quickotp.verification import phone_regions
from quickotp.web.amoot import RESPONSES, JsonResponse
from quickotp.web.params import read_params, token_of
from quickotp.web.status import Status, status_for

log = logging.getLogger(__name__)

METHOD = "VerifyQuickOTP"


class RestVerify:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def handle(self, request: Request) -> Response:
        """Check one code; the answer names the outcome."""
        try:
            params = await read_params(request)
            caller = await self.gateway.authenticate(
                token_of(request, params),
                method=METHOD,
                ip=request.client.host if request.client else None,
            )
            verification = await self.gateway.verifications.check(
                caller, code=params.get("code"), mobile=params.get("mobile", "")
            )
            body: dict[str, Any] = {"Status": Status.SUCCESS, "Data": _data(verification)}
        except GatewayError as exc:
            status = status_for(exc)
            if status is Status.SERVER_ERROR:
                log.error("%s: no Status mapped for %s", METHOD, type(exc).__name__, exc_info=exc)
            log.info("%s refused: %s (%s)", METHOD, status, exc)
            body = {"Status": status, "Data": None}
        except Exception:  # a bug: the caller still gets ServerError, never a bare 500
            log.exception("%s failed", METHOD)
            body = {"Status": Status.SERVER_ERROR, "Data": None}
        RESPONSES.labels(METHOD, body["Status"]).inc()
        return JsonResponse(body)


def _data(verification: Verification) -> dict[str, Any]:
    number = phone.normalise("+" + verification.mobile, regions=phone_regions())
    return {
        "Mobile": number.national,
        "MessageID": verification.message_id,
        "VerificationID": verification.id,
        "Status": Status.SUCCESS,
    }
