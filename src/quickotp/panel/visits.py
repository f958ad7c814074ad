"""
One request to the panel as the panel sees it: who is signed in, in which language, the
CSRF token its forms carry, and the cookies that go back.

Cookies: the session (its value is the only copy of the session secret; the database keeps
a keyed hash), a visitor secret that anonymous forms' CSRF tokens are bound to, the
language of someone not signed in, and a one-shot flash message key. All HttpOnly,
SameSite=Lax, path /panel, and Secure outside dev mode.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from quickotp.domain.errors import NotAllowed
from quickotp.domain.models import User
from quickotp.services.users import LOCALES

SESSION_COOKIE = "qotp_session"
VISITOR_COOKIE = "qotp_visitor"
LANGUAGE_COOKIE = "qotp_lang"
FLASH_COOKIE = "qotp_flash"
CHALLENGE_COOKIE = "qotp_second_step"  # a sign-in waiting for its two-step code
CSRF_FIELD = "csrf"
PAGE_FIELD = "form_page"  # the page a form was shown on, to bring its sender back to it


@dataclass(frozen=True)
class CookiePolicy:
    path: str  # the panel's mount point
    secure: bool  # off only in dev mode, which serves plain http
    session_seconds: int


@dataclass
class Visit:
    """A request, its signed-in user (if any), and what the response must set."""

    request: Request
    user: User | None
    session: str | None  # the session cookie's value, when it names a live session
    visitor: str  # the visitor secret (from the cookie, or new)
    locale: str
    flash: str | None  # a flash message key, shown once
    csrf_key: bytes
    new_visitor: bool = False
    set_cookies: list[Callable[[Response], None]] = field(default_factory=list)
    # A form its sender filled in before their sign-in expired, to fill in again.
    restored: dict[str, Any] | None = None

    @property
    def signed_in(self) -> User:
        """The signed-in user, on pages that admit only them (NotAllowed otherwise)."""
        if self.user is None:
            raise NotAllowed("not signed in")
        return self.user

    @property
    def ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    @property
    def csrf(self) -> str:
        """The CSRF token of this visit's forms: a keyed hash of the session or visitor secret."""
        bound = f"s:{self.session}" if self.session else f"v:{self.visitor}"
        return hmac.new(self.csrf_key, bound.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sent: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), sent.encode("utf-8", "replace"))

    def csrf_of_lapsed_session(self, sent: str) -> bool:
        """
        Whether `sent` is the CSRF token of the session this browser's cookie names, though
        that session is over: a form shown while signed in, sent after the sign-in expired.
        """
        cookie = self.request.cookies.get(SESSION_COOKIE, "")
        if self.session is not None or not cookie or len(cookie) > 100:
            return False
        token = hmac.new(self.csrf_key, f"s:{cookie}".encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(token.encode(), sent.encode("utf-8", "replace"))

    @property
    def owner(self) -> str:
        """Whose a draft kept for this browser is: its visitor secret's."""
        return f"visitor:{self.visitor}"


def read_locale(request: Request, user: User | None) -> str:
    """The user's language; for visitors their cookie, else their browser's preference."""
    if user is not None:
        return user.locale
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LOCALES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return LOCALES[0]


def new_visitor_secret() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(
    response: Response, policy: CookiePolicy, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=policy.path,
        secure=policy.secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, policy: CookiePolicy, name: str) -> None:
    response.delete_cookie(
        name, path=policy.path, secure=policy.secure, httponly=True, samesite="lax"
    )
