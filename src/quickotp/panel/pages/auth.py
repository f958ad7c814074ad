"""Pages about who you are: sign up, sign in and out, invitations, password and language."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.errors import GatewayError, PasswordHashingBusy, SignInThrottled
from quickotp.domain.models import Role
from quickotp.panel import forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.i18n import N_
from quickotp.panel.visits import CHALLENGE_COOKIE, LANGUAGE_COOKIE, Visit, set_cookie
from quickotp.services.users import LOCALES, SecondStep


def routes(panel: Panel) -> list[Route]:
    pages = AuthPages(panel)
    return [
        panel.route("/", pages.home, access=Access.PUBLIC),
        panel.route("/sign-in", pages.sign_in, access=Access.PUBLIC, methods=["GET", "POST"]),
        panel.route("/sign-up", pages.sign_up, access=Access.PUBLIC, methods=["GET", "POST"]),
        panel.route("/sign-out", pages.sign_out, access=Access.SIGNED_IN, methods=["POST"]),
        panel.route(
            "/invitations/{secret}", pages.invitation, access=Access.PUBLIC, methods=["GET", "POST"]
        ),
        panel.route("/language", pages.language, access=Access.PUBLIC, methods=["POST"]),
        panel.route("/settings", pages.settings, access=Access.SIGNED_IN, methods=["GET", "POST"]),
    ]


def home_of(role: Role) -> str:
    return "/operator" if role is Role.OPERATOR else "/dashboard"


class AuthPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    async def home(self, visit: Visit) -> Response:
        if visit.user is None:
            return self.panel.redirect(visit, "/sign-in")
        return self.panel.redirect(visit, home_of(visit.user.role))

    async def sign_in(self, visit: Visit) -> Response:
        request = visit.request
        target = self._next(request.query_params.get("next", ""))
        if request.method == "GET":
            if visit.user is not None:
                return self.panel.redirect(visit, target or home_of(visit.user.role))
            return self.panel.render(visit, "auth/sign_in.html", email="", error=None, next=target)
        form = await request.form()
        email = forms.text(form, "email", 254)
        try:
            signed = await self.panel.users.sign_in(
                email=email,
                password=forms.secret(form, "password"),
                ip=visit.ip,
                user_agent=request.headers.get("user-agent", ""),
            )
        except GatewayError as exc:
            return refused(
                exc,
                401,
                self.panel.render(
                    visit,
                    "auth/sign_in.html",
                    email=email,
                    error=self.panel.problem(visit, exc),
                    next=target,
                ),
            )
        if isinstance(signed, SecondStep):  # two-step sign-in: the code comes next
            challenge = signed.secret
            lifetime = int(self.panel.users.config.second_step_lifetime.total_seconds())
            visit.set_cookies.append(
                lambda response: set_cookie(
                    response, self.panel.cookies, CHALLENGE_COOKIE, challenge, lifetime
                )
            )
            after = f"?next={quote(self.panel.base + target)}" if target else ""
            return self.panel.redirect(visit, f"/sign-in/code{after}")
        self.panel.start_session(visit, signed.secret)
        return self.panel.redirect(visit, target or home_of(signed.user.role))

    def _next(self, raw: str) -> str:
        """A page of the panel to go on to after signing in ("" if `raw` is not one)."""
        return self.panel.local_path(raw)

    async def sign_up(self, visit: Visit) -> Response:
        if visit.request.method == "GET":
            return self.panel.render(
                visit, "auth/sign_up.html", email="", account_name="", error=None
            )
        form = await visit.request.form()
        email, account_name = forms.text(form, "email", 254), forms.text(form, "account_name")
        try:
            signed = await self.panel.users.sign_up(
                email=email,
                password=forms.secret(form, "password"),
                account_name=account_name,
                locale=visit.locale,
            )
        except GatewayError as exc:
            return refused(
                exc,
                422,
                self.panel.render(
                    visit,
                    "auth/sign_up.html",
                    email=email,
                    account_name=account_name,
                    error=self.panel.problem(visit, exc),
                ),
            )
        self.panel.start_session(visit, signed.secret)
        return self.panel.redirect(visit, home_of(signed.user.role))

    async def sign_out(self, visit: Visit) -> Response:
        if visit.session is not None:
            await self.panel.users.sign_out(visit.session)
        self.panel.end_session(visit)
        return self.panel.redirect(visit, "/sign-in", flash="signed_out")

    async def invitation(self, visit: Visit) -> Response:
        secret = visit.request.path_params["secret"]
        try:
            invitation = await self.panel.users.invitation(secret)
        except GatewayError as exc:
            return self.panel.error(visit, 404, self.panel.problem(visit, exc))
        needs_account = invitation.role is Role.USER and invitation.account_id is None
        if visit.request.method == "GET":
            return self.panel.render(
                visit,
                "auth/invitation.html",
                invitation=invitation,
                needs_account=needs_account,
                account_name="",
                error=None,
            )
        form = await visit.request.form()
        account_name = forms.text(form, "account_name")
        try:
            signed = await self.panel.users.accept_invitation(
                secret,
                password=forms.secret(form, "password"),
                account_name=account_name,
                locale=visit.locale,
            )
        except GatewayError as exc:
            return refused(
                exc,
                422,
                self.panel.render(
                    visit,
                    "auth/invitation.html",
                    invitation=invitation,
                    needs_account=needs_account,
                    account_name=account_name,
                    error=self.panel.problem(visit, exc),
                ),
            )
        self.panel.start_session(visit, signed.secret)
        return self.panel.redirect(visit, home_of(signed.user.role))

    async def language(self, visit: Visit) -> Response:
        form = await visit.request.form()
        chosen = forms.text(form, "language")
        if chosen in LOCALES:
            if visit.user is not None:
                await self.panel.users.set_locale(visit.user, chosen)
            visit.set_cookies.append(
                lambda response: set_cookie(
                    response, self.panel.cookies, LANGUAGE_COOKIE, chosen, 60 * 60 * 24 * 365
                )
            )
        return self.panel.redirect(visit, self._next(forms.text(form, "next")) or "/")

    async def settings(self, visit: Visit) -> Response:
        user = visit.signed_in
        if visit.request.method == "GET" or visit.session is None:
            return self.panel.render(visit, "auth/settings.html", error=None)
        form = await visit.request.form()
        new = forms.secret(form, "new_password")
        if new != forms.secret(form, "repeat_password"):
            error = self.panel.translator(visit)(N_("The two new passwords differ."))
            return self.panel.render(visit, "auth/settings.html", status=422, error=error)
        try:
            await self.panel.users.change_password(
                user, current=forms.secret(form, "password"), new=new, session=visit.session
            )
        except GatewayError as exc:
            return refused(
                exc,
                422,
                self.panel.render(
                    visit, "auth/settings.html", error=self.panel.problem(visit, exc)
                ),
            )
        return self.panel.redirect(visit, "/settings", flash="password_changed")


def refused(exc: GatewayError, status: int, page: Response) -> Response:
    """
    `page` (the form again, with what went wrong) as the answer to a refusal: 429 with
    Retry-After when it says to come back later (a sign-in limit, the password worker
    full), else `status`.
    """
    if isinstance(exc, SignInThrottled | PasswordHashingBusy):
        page.status_code = 429
        page.headers["retry-after"] = str(exc.retry_after)
    else:
        page.status_code = status
    return page
