"""The log formats: JSON lines with their fields in order and the context ids that are known,
the same for `serve --workers`, and an unknown QUICKOTP_LOG_FORMAT refused at once."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from quickotp.cli import main
from quickotp.support import logs


def _record(message: str, *, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord("quickotp.x", logging.WARNING, __file__, 1, message, (), info)
    logs.Context().filter(record)
    return record


def test_a_json_line_has_its_fields_and_only_the_known_ids() -> None:
    """time, level, logger, message first; an id that is not known is left out, not null."""
    token = logs.request_id.set("r-1")
    try:
        line = logs.JsonFormatter().format(_record("hello there"))
    finally:
        logs.request_id.reset(token)

    parsed = json.loads(line)
    assert list(parsed) == ["time", "level", "logger", "message", "request_id"]
    assert (parsed["level"], parsed["logger"], parsed["message"]) == (
        "WARNING",
        "quickotp.x",
        "hello there",
    )
    assert parsed["time"].endswith("+00:00")


def test_a_json_line_keeps_a_traceback_on_one_line() -> None:
    """An exception's traceback is a field of the one line, not lines of its own."""
    try:
        raise ValueError("boom")
    except ValueError as exc:
        line = logs.JsonFormatter().format(_record("failed", exc=exc))

    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def test_workers_log_the_same_lines_with_their_process_id() -> None:
    """`serve --workers` configures each worker from dict_config: JSON with the process id."""
    root, ours = logging.getLogger(), logging.getLogger("quickotp")
    saved = root.handlers[:], root.level, ours.level
    try:
        logging.config.dictConfig(logs.dict_config("json", "DEBUG"))
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("quickotp.y").info("up")
    finally:
        root.handlers[:], level, our_level = saved
        root.setLevel(level)
        ours.setLevel(our_level)

    parsed = json.loads(stream.getvalue())
    assert (parsed["message"], type(parsed["process"])) == ("up", int)


def test_an_unknown_log_format_stops_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """QUICKOTP_LOG_FORMAT other than plain or json: one line and exit code 78."""
    code = main(["accounts", "list"], env={"QUICKOTP_LOG_FORMAT": "xml"})

    assert code == 78
    assert "QUICKOTP_LOG_FORMAT must be one of plain, json" in capsys.readouterr().err
