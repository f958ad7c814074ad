"""
One logical API call as data (the request to make, how to read its answer), and typed reads
of JSON answers. Pure: `_client` does the I/O, so Client and AsyncClient share all of this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import httpx

from quickotp_client._errors import ResponseError

T = TypeVar("T")

TEHRAN = ZoneInfo("Asia/Tehran")  # Amoot writes its times in Tehran local time, no offset


@dataclass(frozen=True)
class Call(Generic[T]):
    """
    A request and the reader of its answer. `bearer` sends the token as `Bearer <token>`
    (/v1); otherwise it goes raw, as Amoot's docs send it. A call with an `idempotency_key`
    sends it as `Idempotency-Key`, the same on every retry, and only such a call is retried
    after a failure that may have reached the server.
    """

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    form: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    bearer: bool = False
    idempotency_key: str | None = None


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON; a ResponseError when it is not JSON."""
    try:
        return response.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ResponseError(
            f"HTTP {response.status_code}: the answer is not JSON "
            f"({response.headers.get('content-type', 'no content type')})",
            http_status=response.status_code,
        ) from None


class Fields:
    """Typed reads of a JSON object's fields; a missing or mistyped one is a ResponseError."""

    def __init__(self, data: Any, *, what: str, http_status: int) -> None:
        if not isinstance(data, dict):
            raise ResponseError(f"{what}: not a JSON object", http_status=http_status)
        self.data: dict[str, Any] = data
        self.what = what
        self.http_status = http_status

    def _bad(self, name: str, expected: str) -> ResponseError:
        found = type(self.data[name]).__name__ if name in self.data else "nothing"
        return ResponseError(
            f"{self.what}: {name} should be {expected}, not {found}", http_status=self.http_status
        )

    def has(self, name: str) -> bool:
        """Whether `name` is there and not null."""
        return self.data.get(name) is not None

    def integer(self, name: str) -> int:
        """A whole number; Amoot's ids and numbers may also come as strings of digits."""
        value = self.data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
            return int(value)
        raise self._bad(name, "a whole number")

    def number(self, name: str) -> float:
        """A number, whole or not (Amoot's prices)."""
        value = self.data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise self._bad(name, "a number")

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if isinstance(value, str):
            return value
        raise self._bad(name, "a string")

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self.has(name) else None

    def digits(self, name: str) -> str:
        """A number that is not a quantity (a mobile number): a JSON number or a string."""
        value = self.data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(name)

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, bool):
            return value
        raise self._bad(name, "true or false")

    def texts(self, name: str) -> tuple[str, ...]:
        """A list of strings; null reads as empty (Amoot's failure shapes use null)."""
        value = self.data.get(name)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self._bad(name, "a list of strings")

    def labels(self, name: str) -> dict[str, str] | None:
        """An object of strings, or null."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return value
        raise self._bad(name, "an object of strings")

    def moment(self, name: str) -> datetime:
        """An ISO 8601 time with its offset (/v1)."""
        found = self.optional_moment(name)
        if found is None:
            raise self._bad(name, "a time")
        return found

    def optional_moment(self, name: str) -> datetime | None:
        if not self.has(name):
            return None
        try:
            found = datetime.fromisoformat(self.text(name))
        except ValueError:
            raise self._bad(name, "an ISO 8601 time") from None
        if found.tzinfo is None:
            raise self._bad(name, "a time with its offset")
        return found

    def tehran_time(self, name: str) -> datetime | None:
        """Amoot's local time (`2025-10-25T15:16:59.590`) in Tehran; year 1 means never."""
        try:
            found = datetime.fromisoformat(self.text(name))
        except ValueError:
            raise self._bad(name, "a time") from None
        if found.year == 1:
            return None
        return found if found.tzinfo is not None else found.replace(tzinfo=TEHRAN)

    def nested(self, name: str) -> Fields:
        return Fields(self.data.get(name), what=f"{self.what}.{name}", http_status=self.http_status)

    def nested_list(self, name: str) -> list[Fields]:
        value = self.data.get(name)
        if not isinstance(value, list):
            raise self._bad(name, "a list")
        return [
            Fields(item, what=f"{self.what}.{name}[{i}]", http_status=self.http_status)
            for i, item in enumerate(value)
        ]
