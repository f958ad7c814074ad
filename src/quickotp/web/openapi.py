"""
The OpenAPI 3.1 document of the /v1 API, written as data and served at /openapi.json.

tests/web/v1/test_openapi.py holds it true against the running app with schemathesis: every
answer the app gives must be one documented here, in the documented shape.
"""

from __future__ import annotations

from typing import Any

from quickotp import __version__
from quickotp.web.problems import PROBLEM_FOR_ERROR, PROBLEM_JSON

_ISO = {"type": "string", "format": "date-time"}
_ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_MOBILE = {
    "type": "string",
    "format": "mobile",
    "maxLength": 40,
    "description": "A mobile number as people write it: 09121234567, +989121234567, ...",
}
_VERIFICATION_STATUS = ["pending", "approved", "expired", "max_attempts_reached", "canceled"]
_METADATA = {
    "type": ["object", "null"],
    "maxProperties": 20,
    "propertyNames": {"maxLength": 40},
    "additionalProperties": {"type": "string", "maxLength": 500},
    "description": "The caller's own labels, kept with the verification and echoed back.",
}


def _problem(description: str, *, retry_after: bool = False, auth: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    headers = {}
    if retry_after:
        headers["Retry-After"] = {
            "description": "Seconds until the limit that refused would pass (or, for "
            "route-overloaded, until the route's queue is expected to be short enough).",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    if auth:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
    if headers:
        response["headers"] = headers
    return response


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_AUTH = {
    "401": _problem("No token, or an unknown one (token-missing, token-unknown).", auth=True),
}
_FORBIDDEN = "The token or account may not do this (token-disabled, token-expired, ...)"
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "The same key with the same body within 24 hours gets the first "
        "answer and sends nothing; with another body, a 409."
    ),
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
}
_LINE = {"type": "string", "minLength": 1, "maxLength": 20}
_VERIFICATION_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{1,32}$"},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "QuickOTP /v1",
        "version": __version__,
        "description": (
            "Send one-time codes by SMS and check them on the server. Errors are RFC 9457 "
            "problem details; each `type` is stable, and `code` is the Status name the "
            "Amoot-compatible /rest surface uses for the same outcome."
        ),
    },
    "security": [{"bearer": []}],
    "paths": {
        "/v1/verifications": {
            "post": {
                "operationId": "createVerification",
                "summary": "Send a code to a number",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/VerificationRequest"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        **_json("CreatedVerification", "Accepted: durable, charged, queued."),
                        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
                    },
                    "400": _problem("The request or the number is not usable."),
                    **_AUTH,
                    "402": _problem("The account's credit does not cover the message."),
                    "403": _problem(
                        _FORBIDDEN + "; or the fraud guard refused: mobile-blocked, "
                        "country-not-allowed, pumping-suspected."
                    ),
                    "409": _problem(
                        "idempotency-conflict, request-in-progress or request-repeated."
                    ),
                    "422": _problem("No approved OTP pattern (pattern-unavailable)."),
                    "429": _problem(
                        "A limit refused: mobile-cooldown, mobile-limit-reached, "
                        "account-rate-limited, token-rate-limited, ip-rate-limited.",
                        retry_after=True,
                    ),
                    "503": _problem(
                        "The fraud guard's backend is down (limits-unavailable); or more is "
                        "offered than the number's route can deliver before a new code would "
                        "expire, so the send is refused at once (route-overloaded, with "
                        "Retry-After).",
                        retry_after=True,
                    ),
                },
            }
        },
        "/v1/verifications/check": {
            "post": {
                "operationId": "checkVerification",
                "summary": "Check a code (by verification id, or the number's newest)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/CheckRequest"}
                        }
                    },
                },
                "responses": {
                    "200": _json("Verification", "Approved: the code was right."),
                    "400": _problem("The request or the code is not usable."),
                    **_AUTH,
                    "403": _problem(_FORBIDDEN + "; or too-many-attempts."),
                    "404": _problem("verification-not-found."),
                    "409": _problem("code-already-used: it was approved before."),
                    "410": _problem("code-expired or verification-canceled."),
                    "422": _problem(
                        "code-invalid: wrong code; attempts_left says how many remain."
                    ),
                    "429": _problem("A request rate was exceeded.", retry_after=True),
                    "503": _problem("The fraud guard's backend is down (limits-unavailable)."),
                },
            }
        },
        "/v1/verifications/{id}": {
            "get": {
                "operationId": "getVerification",
                "summary": "A verification and its outcome so far",
                "parameters": [_VERIFICATION_ID],
                "responses": {
                    "200": _json("Verification", "The verification."),
                    **_AUTH,
                    "403": _problem(_FORBIDDEN + "."),
                    "404": _problem("verification-not-found (or another account's)."),
                },
            }
        },
        "/v1/verifications/{id}/cancel": {
            "post": {
                "operationId": "cancelVerification",
                "summary": "Cancel a pending verification",
                "parameters": [_VERIFICATION_ID],
                "responses": {
                    "200": _json("Verification", "Canceled."),
                    **_AUTH,
                    "403": _problem(_FORBIDDEN + "."),
                    "404": _problem("verification-not-found (or another account's)."),
                    "409": _problem("verification-not-pending: it is over already."),
                },
            }
        },
        "/v1/messages": {
            "post": {
                "operationId": "sendMessage",
                "summary": "Send a message: free text, or one of your approved patterns",
                "description": (
                    "To one number. Free text needs the account's free-text permission, which "
                    "the operator grants. A pattern's `values` fill its variables in the order "
                    "they first appear in its text; an OTP pattern's one value is your code, "
                    "and a verification is made for it (`verification_id`). `send_at` in the "
                    "future schedules the send (a code is then valid from that time)."
                ),
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/MessageRequest"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        **_json("CreatedMessage", "Accepted: durable, charged, queued."),
                        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
                    },
                    "400": _problem(
                        "The request, the number, the text, a code or send_at is not usable "
                        "(invalid-request, mobile-invalid, text-empty, length-exceeded, "
                        "length-invalid, send-time-invalid, ...)."
                    ),
                    **_AUTH,
                    "402": _problem("The account's credit does not cover the message."),
                    "403": _problem(
                        _FORBIDDEN + "; free-text-not-allowed; or the fraud guard refused: "
                        "mobile-blocked, country-not-allowed, pumping-suspected."
                    ),
                    "409": _problem(
                        "idempotency-conflict, request-in-progress or request-repeated."
                    ),
                    "422": _problem(
                        "pattern-not-found, pattern-not-approved, pattern-values-invalid, "
                        "pattern-values-empty, line-not-owned or backup-line-not-owned."
                    ),
                    "429": _problem(
                        "A limit refused: mobile-cooldown, mobile-limit-reached, "
                        "account-rate-limited, token-rate-limited, ip-rate-limited.",
                        retry_after=True,
                    ),
                    "503": _problem(
                        "The fraud guard's backend is down (limits-unavailable), or the "
                        "number's route is overloaded (route-overloaded, with Retry-After).",
                        retry_after=True,
                    ),
                },
            }
        },
        "/v1/messages/{id}": {
            "get": {
                "operationId": "getMessage",
                "summary": "A message: its status, delivery, parts and cost",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": _json("Message", "The message."),
                    **_AUTH,
                    "403": _problem(_FORBIDDEN + "."),
                    "404": _problem("message-not-found (or another account's)."),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "VerificationRequest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["to"],
                "properties": {
                    "to": _MOBILE,
                    "code_length": {"type": "integer", "minimum": 4, "maximum": 8, "default": 6},
                    "code": {
                        "type": "string",
                        "pattern": "^[0-9]{4,8}$",
                        "description": "Your own code; by default the server makes one.",
                    },
                    "pattern_id": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "One of your approved OTP patterns; default: the live one.",
                    },
                    "metadata": _METADATA,
                },
            },
            "MessageRequest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["to"],
                "oneOf": [
                    {"required": ["text"], "not": {"required": ["values"]}},
                    {"required": ["pattern_id"]},
                ],
                "properties": {
                    "to": _MOBILE,
                    "text": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 2000,
                        "description": "Free text (needs the free-text permission).",
                    },
                    "pattern_id": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "One of your approved patterns.",
                    },
                    "values": {
                        "type": "array",
                        "maxItems": 50,
                        "items": {"type": ["string", "integer"], "maxLength": 500},
                        "description": "The pattern's values, in the order of its variables.",
                    },
                    "line": {
                        **_LINE,
                        "description": "A sender line of yours, or public / service / 98; "
                        "default: your default line.",
                    },
                    "backup_line": {
                        **_LINE,
                        "description": "Sent on this line when `line` cannot send.",
                    },
                    "send_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": "Send then (at most a year ahead); a past time: now.",
                    },
                },
                "description": "Give `text`, or `pattern_id` (with `values`).",
            },
            "CreatedMessage": {
                "type": "object",
                "required": ["id", "to", "verification_id", "expires_at", "sandbox"],
                "properties": {
                    "id": {"type": "integer"},
                    "to": {"type": "string", "pattern": "^\\+[0-9]+$"},
                    "verification_id": {
                        "type": ["string", "null"],
                        "description": "Set when an OTP pattern's code was sent.",
                    },
                    "expires_at": {
                        **_ISO,
                        "description": "The message is never sent after this time.",
                    },
                    "sandbox": {"type": "boolean"},
                },
            },
            "CheckRequest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code"],
                "anyOf": [{"required": ["id"]}, {"required": ["to"]}],
                "properties": {
                    "id": {"type": "string", "maxLength": 64},
                    "to": _MOBILE,
                    "code": {
                        "type": "string",
                        "pattern": "^[0-9]{4,8}$",
                        "description": "ASCII digits; Persian and Arabic-Indic digits work too.",
                    },
                },
                "description": "Give `id`, or `to` for the number's newest verification.",
            },
            "CreatedVerification": {
                "type": "object",
                "required": [
                    "id",
                    "to",
                    "status",
                    "expires_at",
                    "message_id",
                    "sandbox",
                    "metadata",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "to": {"type": "string", "pattern": "^\\+[0-9]+$"},
                    "status": {"type": "string", "enum": ["pending"]},
                    "expires_at": _ISO,
                    "message_id": {"type": "integer"},
                    "sandbox": {"type": "boolean"},
                    "metadata": _METADATA,
                },
            },
            "Verification": {
                "type": "object",
                "required": [
                    "id",
                    "to",
                    "status",
                    "attempts_left",
                    "expires_at",
                    "created_at",
                    "updated_at",
                    "message_id",
                    "sandbox",
                    "metadata",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "to": {"type": "string", "pattern": "^\\+[0-9]+$"},
                    "status": {"type": "string", "enum": _VERIFICATION_STATUS},
                    "attempts_left": {"type": "integer", "minimum": 0},
                    "expires_at": _ISO,
                    "created_at": _ISO,
                    "updated_at": _ISO,
                    "message_id": {"type": "integer"},
                    "sandbox": {"type": "boolean"},
                    "metadata": _METADATA,
                },
            },
            "Message": {
                "type": "object",
                "required": [
                    "id",
                    "to",
                    "status",
                    "delivery",
                    "parts",
                    "encoding",
                    "cost",
                    "attempts",
                    "created_at",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "to": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": [
                            "queued",
                            "sending",
                            "sent",
                            "delivered",
                            "undelivered",
                            "failed",
                            "expired",
                        ],
                    },
                    "delivery": {
                        "type": "object",
                        "required": [
                            "amoot_delivery_type",
                            "transport",
                            "submitted_at",
                            "reported_at",
                        ],
                        "properties": {
                            "amoot_delivery_type": {
                                "type": "integer",
                                "description": "Amoot's DeliveryType code for this state.",
                            },
                            "transport": {
                                "type": ["string", "null"],
                                "description": "The route that took it; until one does, "
                                "the route its last attempt failed on.",
                            },
                            "submitted_at": _ISO_OR_NULL,
                            "reported_at": _ISO_OR_NULL,
                        },
                    },
                    "parts": {"type": "integer", "minimum": 1},
                    "encoding": {"type": "string"},
                    "cost": {"type": "integer", "description": "rial"},
                    "attempts": {"type": "integer", "minimum": 0},
                    "created_at": _ISO,
                },
            },
            "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail", "instance"],
                "properties": {
                    "type": {
                        "type": "string",
                        "enum": sorted(
                            {kind.uri for kind in PROBLEM_FOR_ERROR.values()}
                            | {
                                "urn:quickotp:problem:server-error",
                                "urn:quickotp:problem:not-found",
                            }
                        ),
                    },
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "code": {"type": "string", "description": "The /rest Status name."},
                    "verification_id": {"type": "string"},
                    "attempts_left": {"type": "integer", "minimum": 0},
                    "retry_after": {"type": "integer", "minimum": 1},
                },
            },
        },
    },
}
