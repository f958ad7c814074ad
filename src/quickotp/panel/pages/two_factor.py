"""
Two-step sign-in in the panel: the sign-in's second step (the code), and each person's own
settings for it (turn it on with a first code, new recovery codes, turn it off with the
password); an operator can turn it off for a user who lost both app and recovery codes.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.errors import GatewayError, SecondStepExpired
from quickotp.domain.models import Actor
from quickotp.panel import forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.pages.auth import home_of, refused
from quickotp.panel.visits import CHALLENGE_COOKIE, Visit, clear_cookie
from quickotp.services.two_factor import Enrolment


def routes(panel: Panel) -> list[Route]:
    pages = TwoFactorPages(panel)
    signed_in, post = Access.SIGNED_IN, ["POST"]
    return [
        panel.route("/sign-in/code", pages.code, access=Access.PUBLIC, methods=["GET", "POST"]),
        panel.route("/settings/two-step", pages.settings, access=signed_in),
        panel.route("/settings/two-step/begin", pages.begin, access=signed_in, methods=post),
        panel.route("/settings/two-step/confirm", pages.confirm, access=signed_in, methods=post),
        panel.route("/settings/two-step/codes", pages.codes, access=signed_in, methods=post),
        panel.route("/settings/two-step/off", pages.off, access=signed_in, methods=post),
        panel.route(
            "/operator/users/{user_id:id}/two-step-off",
            pages.operator_off,
            access=Access.OPERATOR,
            methods=post,
        ),
    ]


def qr_image(uri: str) -> str:
    """`uri` as a QR code: an SVG in a data: URI, which the panel's CSP lets an <img> show."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


class TwoFactorPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.users = panel.users

    # the sign-in's second step --------------------------------------------------------

    async def code(self, visit: Visit) -> Response:
        request = visit.request
        target = self.panel.local_path(request.query_params.get("next", ""))
        secret = request.cookies.get(CHALLENGE_COOKIE, "")
        if request.method == "GET":
            if not secret:
                return self.panel.redirect(visit, "/sign-in")
            return self.panel.render(visit, "two_factor/code.html", error=None, next=target)
        form = await request.form()
        try:
            signed = await self.users.finish_sign_in(
                secret,
                forms.text(form, "code", 100),
                ip=visit.ip,
                user_agent=request.headers.get("user-agent", ""),
            )
        except SecondStepExpired as exc:
            self._forget(visit)
            page = self.panel.render(
                visit,
                "auth/sign_in.html",
                email="",
                error=self.panel.problem(visit, exc),
                next=target,
            )
            return refused(exc, 401, page)
        except GatewayError as exc:
            page = self.panel.render(
                visit, "two_factor/code.html", error=self.panel.problem(visit, exc), next=target
            )
            return refused(exc, 401, page)
        self._forget(visit)
        self.panel.start_session(visit, signed.secret)
        return self.panel.redirect(visit, target or home_of(signed.user.role))

    def _forget(self, visit: Visit) -> None:
        visit.set_cookies.append(
            lambda response: clear_cookie(response, self.panel.cookies, CHALLENGE_COOKIE)
        )

    # one's own settings ------------------------------------------------------------------

    async def settings(
        self,
        visit: Visit,
        *,
        error: str | None = None,
        status: int = 200,
        enrolment: Enrolment | None = None,
    ) -> Response:
        state = await self.users.two_factor.state(visit.signed_in)
        pending = enrolment or state.pending
        return self.panel.render(
            visit,
            "two_factor/settings.html",
            status=status,
            state=state,
            pending=pending,
            qr=qr_image(pending.uri) if pending else None,
            error=error,
        )

    async def begin(self, visit: Visit) -> Response:
        try:
            await self.users.two_factor.begin(visit.signed_in)
        except GatewayError as exc:
            return await self.settings(visit, error=self.panel.problem(visit, exc), status=409)
        return self.panel.redirect(visit, "/settings/two-step")

    async def confirm(self, visit: Visit) -> Response:
        form = await visit.request.form()
        try:
            codes = await self.users.two_factor.confirm(
                visit.signed_in, forms.text(form, "code", 100)
            )
        except GatewayError as exc:
            return await self.settings(visit, error=self.panel.problem(visit, exc), status=422)
        return self.panel.render(visit, "two_factor/codes.html", codes=codes, first=True)

    async def codes(self, visit: Visit) -> Response:
        form = await visit.request.form()
        try:
            codes = await self.users.new_recovery_codes(
                visit.signed_in, password=forms.secret(form, "password")
            )
        except GatewayError as exc:
            page = await self.settings(visit, error=self.panel.problem(visit, exc))
            return refused(exc, 422, page)
        return self.panel.render(visit, "two_factor/codes.html", codes=codes, first=False)

    async def off(self, visit: Visit) -> Response:
        form = await visit.request.form()
        try:
            await self.users.turn_off_two_factor(
                visit.signed_in, password=forms.secret(form, "password")
            )
        except GatewayError as exc:
            page = await self.settings(visit, error=self.panel.problem(visit, exc))
            return refused(exc, 422, page)
        return self.panel.redirect(visit, "/settings/two-step", flash="two_factor_off")

    # the operator's ----------------------------------------------------------------------

    async def operator_off(self, visit: Visit) -> Response:
        user = await self.panel.desk.turn_off_two_factor(
            Actor(visit.signed_in, visit.ip), visit.request.path_params["user_id"]
        )
        back = (
            f"/operator/accounts/{user.account_id}" if user.account_id else "/operator/invitations"
        )
        return self.panel.redirect(visit, back, flash="user_changed")
