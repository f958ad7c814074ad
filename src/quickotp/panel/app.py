"""
The web panel's ASGI app: the shared machinery every page goes through (who is visiting,
CSRF, roles, rendering, errors, security headers) and the route table.

Pages only parse forms, call the Users, Workspace and OperatorDesk use cases, and render;
no rule of the gateway lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from enum import Enum
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quickotp.domain.errors import (
    AccessDenied,
    AccountDisabled,
    Conflict,
    GatewayError,
    NotAllowed,
    NotFound,
    RequestRejected,
)
from quickotp.domain.models import Role
from quickotp.panel import errors as error_text
from quickotp.panel import forms
from quickotp.panel.assets import Assets
from quickotp.panel.i18n import LANGUAGE_NAMES, N_, Translator, ltr, ltr_runs
from quickotp.panel.visits import (
    CSRF_FIELD,
    FLASH_COOKIE,
    PAGE_FIELD,
    SESSION_COOKIE,
    VISITOR_COOKIE,
    CookiePolicy,
    Visit,
    clear_cookie,
    new_visitor_secret,
    read_locale,
    set_cookie,
)
from quickotp.services.credit_alerts import CreditAlerts
from quickotp.services.desk import OperatorDesk
from quickotp.services.users import Users
from quickotp.services.workspace import Workspace

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
FLASHES = {
    "saved": N_("Saved."),
    "pattern_created": N_("Pattern submitted. The operator will review it soon."),
    "pattern_live": N_("This pattern is live: SendQuickOTP sends your codes with it."),
    "pattern_live_operator": N_(
        "This pattern is live: SendQuickOTP sends the account's codes with it."
    ),
    "token_saved": N_("Token saved."),
    "token_disabled": N_("Token disabled: requests with it are refused now."),
    "token_enabled": N_("Token enabled."),
    "token_deleted": N_("Token deleted."),
    "webhook_saved": N_("Webhook saved."),
    "secret_rotated": N_("A new webhook secret was made; the old one no longer signs reports."),
    "password_changed": N_("Password changed. Your other sessions were signed out."),
    "approved": N_("Pattern approved."),
    "rejected": N_("Pattern rejected."),
    "credit_added": N_("Credit changed."),
    "account_changed": N_("Account changed."),
    "user_changed": N_("User changed."),
    "message_canceled": N_("Message canceled: it will not be sent, and its charge was returned."),
    "too_late_to_cancel": N_("Too late to cancel: the message is on its way already."),
    "signed_out": N_("You have signed out."),
    # accounts and alerts
    "password_set": N_("Your new password is set. Sign in with it."),
    "two_factor_off": N_("Two-step sign-in is off."),
    "alert_saved": N_("Low-credit alert saved."),
    # routes and webhooks
    "route_added": N_("Route added. Dispatchers send through it within seconds."),
    "route_saved": N_("Route saved. Dispatchers use it as saved within seconds."),
    "route_enabled": N_("Route switched on."),
    "route_disabled": N_("Route switched off: it carries nothing until it is switched on."),
    "webhook_retried": N_("The report is owed again: it is posted within seconds."),
    "sign_in_expired": N_(
        "Your sign-in has expired. Sign in again to go back to your form, as you filled it."
    ),
}


class Access(Enum):
    PUBLIC = "public"  # anyone; a signed-in user too
    SIGNED_IN = "signed in"
    USER = "user"  # an account's user
    OPERATOR = "operator"


@dataclass(frozen=True)
class PanelConfig:
    prefix: str  # where the panel is mounted: "/panel"
    secure_cookies: bool
    session_seconds: int
    open_signup: bool
    zone: tzinfo


Handler = Callable[[Visit], Awaitable[Response]]
DRAFT_PARAM = "restore"  # in a page's URL: the draft of a form to fill in again

MAX_FORM = 64 * 1024  # bytes: the largest panel form (an account's limits) holds a few KiB


class Panel:
    """Everything pages share: services, templates, and the request machinery."""

    def __init__(
        self,
        *,
        users: Users,
        workspace: Workspace,
        desk: OperatorDesk,
        alerts: CreditAlerts,
        csrf_key: bytes,
        config: PanelConfig,
    ) -> None:
        self.users = users
        self.workspace = workspace
        self.desk = desk
        self.alerts = alerts
        self.config = config
        self.csrf_key = csrf_key
        self.cookies = CookiePolicy(
            path=config.prefix, secure=config.secure_cookies, session_seconds=config.session_seconds
        )
        self.templates = Environment(
            loader=PackageLoader("quickotp.panel", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.assets = Assets.of_package()
        self.templates.filters["ltr_runs"] = ltr_runs

    @property
    def base(self) -> str:
        return self.config.prefix

    # the request machinery ----------------------------------------------------------------

    async def visit(self, request: Request) -> Visit:
        session = request.cookies.get(SESSION_COOKIE, "")
        user = await self.users.session_user(session) if session else None
        visitor = request.cookies.get(VISITOR_COOKIE, "")
        new_visitor = not (16 <= len(visitor) <= 100)
        flash = request.cookies.get(FLASH_COOKIE)
        return Visit(
            request=request,
            user=user,
            session=session if user is not None else None,
            visitor=new_visitor_secret() if new_visitor else visitor,
            locale=read_locale(request, user),
            flash=flash if flash in FLASHES else None,
            csrf_key=self.csrf_key,
            new_visitor=new_visitor,
        )

    def route(
        self,
        path: str,
        handler: Handler,
        *,
        access: Access,
        methods: Iterable[str] = ("GET",),
    ) -> Route:
        """A page: visit resolved, CSRF checked on POST, access enforced, errors rendered."""

        async def endpoint(request: Request) -> Response:
            if request.method == "POST":
                read = await read_form_body(request)
                if read is None:
                    log.warning("refused a form post larger than %d bytes", MAX_FORM)
                    too_large = self.error(await self.visit(request), 413, error_text.TOO_LARGE)
                    too_large.headers["connection"] = "close"  # read no more of it
                    return too_large
                request = read
            visit = await self.visit(request)
            if request.method == "POST":
                refused = await self._refuse_forgery(visit)
                if refused is not None:
                    return refused
            if access is not Access.PUBLIC and visit.user is None:
                if request.method == "GET":
                    target = quote(
                        request.url.path + ("?" + request.url.query if request.url.query else "")
                    )
                    return self.redirect(visit, f"/sign-in?next={target}")
                return await self._keep_for_sign_in(visit)
            restore = request.query_params.get(DRAFT_PARAM, "")
            if request.method == "GET" and restore and visit.user is not None:
                visit.restored = await self.users.take_draft(restore, visit.owner)
            if (
                access is Access.USER and (visit.user is None or visit.user.role is not Role.USER)
            ) or (
                access is Access.OPERATOR
                and (visit.user is None or visit.user.role is not Role.OPERATOR)
            ):
                return self.error(visit, 403, N_("This page is not for your role."))
            try:
                return self.finish(visit, await handler(visit))
            except NotFound:
                return self.error(visit, 404, N_("There is nothing here."))
            except NotAllowed:
                return self.error(visit, 403, N_("This page is not for your role."))
            except AccountDisabled:  # a change a page does not answer itself
                return self.error(visit, 403, error_text.ACCOUNT_DISABLED)
            except (RequestRejected, Conflict, AccessDenied) as exc:  # not answered by its page
                log.info("%s refused: %s: %s", request.url.path, type(exc).__name__, exc)
                status = 403 if isinstance(exc, AccessDenied) else 422
                return self.error(visit, status, self.problem(visit, exc))
            except Exception:  # the gateway's own failure: the log has it, the page says so
                log.exception("the panel page %s failed", request.url.path)
                return self.error(visit, 500, error_text.UNEXPECTED)

        route = Route(path, endpoint, methods=list(methods))
        # Starlette lets HEAD in wherever GET is; a handler that is not asked for GET reads
        # a form post, so HEAD would post without the CSRF check above: 405 instead.
        if route.methods is not None:
            route.methods.discard("HEAD")
        return route

    async def _refuse_forgery(self, visit: Visit) -> Response | None:
        """403 for a POST without this visit's CSRF token, or sent from another site."""
        request = visit.request
        if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
            log.warning("refused a cross-site form post to %r", request.url.path)
            return self.error(visit, 403, error_text.FORGED)
        form = await request.form()
        sent = form.get(CSRF_FIELD)
        if isinstance(sent, str) and visit.csrf_of_lapsed_session(sent):
            return await self._keep_for_sign_in(visit)
        if not isinstance(sent, str) or not visit.csrf_ok(sent):
            log.warning("refused a form post without a valid CSRF token to %r", request.url.path)
            return self.error(visit, 403, error_text.FORGED)
        return None

    async def _keep_for_sign_in(self, visit: Visit) -> Response:
        """
        A form sent after its sender's sign-in expired: its fields (not its CSRF token, not
        a password) are kept for an hour for this browser, and the sender goes to sign in,
        then back to the page the form was on, where the fields are filled in again.
        """
        form = await visit.request.form()
        fields = [
            [name, value]
            for name, value in form.multi_items()
            if isinstance(value, str)
            and name not in {CSRF_FIELD, PAGE_FIELD}
            and "password" not in name
        ]
        page = form.get(PAGE_FIELD)
        back = self.local_path(page if isinstance(page, str) else "") or "/"
        key = await self.users.keep_draft(
            visit.owner, {"action": visit.request.url.path, "fields": fields}
        )
        back += ("&" if "?" in back else "?") + f"{DRAFT_PARAM}={key}"
        log.info("kept a form sent after its sign-in expired, to %r", visit.request.url.path)
        return self.redirect(
            visit, f"/sign-in?next={quote(self.base + back)}", flash="sign_in_expired"
        )

    def local_path(self, raw: str) -> str:
        """A page of the panel (its path below the mount point), or "" if `raw` is not one."""
        if raw.startswith(self.base + "/") and "//" not in raw and "\\" not in raw:
            return raw[len(self.base) :]
        return ""

    def finish(self, visit: Visit, response: Response) -> Response:
        """Set what the visit needs: the visitor cookie, the flash spent, no caching."""
        if visit.new_visitor:
            set_cookie(response, self.cookies, VISITOR_COOKIE, visit.visitor, 60 * 60 * 24 * 365)
        if visit.flash is not None and FLASH_COOKIE not in _set_cookie_names(response):
            clear_cookie(response, self.cookies, FLASH_COOKIE)
        for apply in visit.set_cookies:
            apply(response)
        response.headers.setdefault("cache-control", "no-store")
        return response

    # answers ------------------------------------------------------------------------------

    def translator(self, visit: Visit) -> Translator:
        return Translator(visit.locale, self.config.zone)

    def render(self, visit: Visit, template: str, *, status: int = 200, **context: Any) -> Response:
        tr = self.translator(visit)
        html = self.templates.get_template(template).render(
            _=tr,
            tr=tr,
            when=tr.when,
            day=tr.day,
            # A number with a sign is isolated left to right: "-1,000" keeps its minus on
            # the left in Persian.
            num=lambda value, decimals=0: (
                ltr(tr.number(value, decimals)) if value < 0 else tr.number(value, decimals)
            ),
            signed=lambda value: ltr(tr.signed(value)),
            digits=tr.digits,
            pct=tr.percent,
            user=visit.user,
            csrf=visit.csrf,
            csrf_field=CSRF_FIELD,
            base=self.base,
            static=self.static,
            path=visit.request.url.path,
            flash=tr(FLASHES[visit.flash]) if visit.flash else None,
            locale=visit.locale,
            dir="rtl" if tr.rtl else "ltr",
            languages=LANGUAGE_NAMES,
            open_signup=self.config.open_signup,
            now=self.users.clock(),
            problem_text=lambda exc: error_text.describe(tr, exc),
            send_failure=lambda status, kind: error_text.send_failure(tr, status, kind),
            shown_day=forms.shown_day,
            page_field=PAGE_FIELD,
            restored=visit.restored,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def static(self, name: str) -> str:
        """The URL of the static file at `name`: its content's hash in it, cached for good."""
        return f"{self.base}/static/{self.assets.url_path(name)}"

    def redirect(self, visit: Visit, path: str, *, flash: str | None = None) -> Response:
        response = RedirectResponse(self.base + path, status_code=303)
        if flash is not None:
            set_cookie(response, self.cookies, FLASH_COOKIE, flash, 60)
        return self.finish(visit, response)

    def error(self, visit: Visit, status: int, message: str) -> Response:
        response = self.render(visit, "error.html", status=status, message=message, code=status)
        return self.finish(visit, response)

    def problem(self, visit: Visit, exc: GatewayError) -> str:
        """What to tell a person about a refusal, in their language."""
        return error_text.describe(self.translator(visit), exc)

    def start_session(self, visit: Visit, secret: str) -> None:
        """Make the response carry a new session cookie (after sign-up, sign-in, invitation)."""
        visit.set_cookies.append(
            lambda response: set_cookie(
                response, self.cookies, SESSION_COOKIE, secret, self.cookies.session_seconds
            )
        )

    def end_session(self, visit: Visit) -> None:
        visit.set_cookies.append(
            lambda response: clear_cookie(response, self.cookies, SESSION_COOKIE)
        )


async def read_form_body(request: Request) -> Request | None:
    """
    The request with its body read into memory, or None when the body passes MAX_FORM:
    refused by its Content-Length before a byte is read, or (a chunked body declares none)
    as soon as what was read passes it. Starlette's form parser reads a whole body before
    anything can look at it, and spools a multipart one to disk past 1 MiB: every form,
    the CSRF check's included, is parsed from what this read.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_FORM:
                return None
            chunks.append(chunk)
    except ClientDisconnect:  # gone: nothing will read the answer
        return None
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await request.receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, replay)


def _set_cookie_names(response: Response) -> set[str]:
    return {
        value.decode("latin-1").split("=", 1)[0]
        for key, value in response.raw_headers
        if key == b"set-cookie"
    }


class SecurityHeaders:
    """Strict headers on every panel answer: CSP without inline code, no framing, no sniffing."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RowId(Convertor[int]):
    """
    `{name:id}` in a panel path: a row id of at most 18 digits, which fits a 64-bit column
    (Starlette's `int` takes any length: past 2^63 the database would refuse it, an HTTP 500).
    """

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", RowId())


async def _nothing_here(visit: Visit) -> Response:
    raise NotFound(visit.request.url.path)


def create_panel(panel: Panel, routes: Sequence[BaseRoute], *, hsts: bool) -> ASGIApp:
    """The panel as an app to mount at `panel.base`."""
    static = Route("/static/{path:path}", panel.assets.endpoint, methods=["GET", "HEAD"])
    # Any other path is the panel's own "nothing here" page, in the visitor's language and
    # with the panel's layout, rather than the framework's plain-text 404.
    unknown = panel.route("/{path:path}", _nothing_here, access=Access.PUBLIC)
    app = Starlette(routes=[*routes, static, unknown])
    return SecurityHeaders(app, hsts=hsts)
