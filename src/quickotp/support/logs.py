"""
Log lines: plain text, or one JSON object a line (QUICKOTP_LOG_FORMAT=json), each carrying
the request, account and message it was written for, where known.

Those three travel in context variables: the web edge sets the request id for the whole of a
request (web/request_ids.py), the gateway the account once a token is known and the message
once it is stored, the dispatcher both for each message it sends. A filter on the handler
copies them onto every record, whichever logger wrote it.

JSON through python-json-logger: a formatter for the standard library's logging, which
every module here and uvicorn already write to, so nothing else changes (structlog would
have its own logger API beside it, and need that formatter's job done by its bridge anyway).
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PLAIN_WITH_PID = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"

request_id: ContextVar[str | None] = ContextVar("quickotp_request_id", default=None)
account_id: ContextVar[int | None] = ContextVar("quickotp_account_id", default=None)
message_id: ContextVar[int | None] = ContextVar("quickotp_message_id", default=None)

_CONTEXT = ("request_id", "account_id", "message_id")


def bind_account(account: int) -> None:
    """Log lines from here on (in this request or task) name this account."""
    account_id.set(account)


def bind_message(account: int, message: int) -> None:
    """Log lines from here on (in this request or task) name this message and its account."""
    account_id.set(account)
    message_id.set(message)


class Context(logging.Filter):
    """Puts the request, account and message ids of the current context on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.account_id = account_id.get()
        record.message_id = message_id.get()
        return True


class JsonFormatter(OrjsonFormatter):
    """
    {"time", "level", "logger", "message"}, then the context ids that are known, then
    "exc_info" for a traceback and "process" with `serve --workers`.
    """

    def __init__(self, *, with_pid: bool = False) -> None:
        fields = ["levelname", "name", "message", *(["process"] if with_pid else [])]
        super().__init__(
            fields,
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            # uvicorn adds a coloured copy of its message as an extra: not a second message
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered = {key: log_data.pop(key) for key in ("time", "level", "logger", "message")}
        for key in _CONTEXT:
            value = log_data.pop(key, None)
            if value is not None:
                ordered[key] = value
        return ordered | log_data


def formatter(log_format: str, *, with_pid: bool = False) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(with_pid=with_pid)
    return logging.Formatter(PLAIN_WITH_PID if with_pid else PLAIN)


def configure(log_format: str, level: str, stream: TextIO = sys.stderr) -> None:
    """
    One handler on the root logger, writing `log_format` lines to `stream` from `level` up;
    as logging.basicConfig, nothing when the root logger has a handler already.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(Context())
    logging.basicConfig(level=level, handlers=[handler])


def dict_config(log_format: str, level: str) -> dict[str, Any]:
    """The same set-up as `configure` (with the process id), as uvicorn's workers take it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "chosen": {"()": formatter, "log_format": log_format, "with_pid": True},
        },
        "filters": {"context": {"()": Context}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "chosen",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"quickotp": {"level": level}},
    }
