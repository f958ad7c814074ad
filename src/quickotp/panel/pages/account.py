"""An account user's pages: dashboard, patterns, tokens, a message's page, credit."""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from quickotp.domain.errors import GatewayError, NotFound
from quickotp.domain.models import Actor, User
from quickotp.panel import charts, forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.visits import Visit, clear_cookie, set_cookie
from quickotp.services.admin import API_METHODS

SHOWN_COOKIE = "qotp_shown"  # the draft id of a new token's secret, for the next page only


def routes(panel: Panel) -> list[Route]:
    pages = AccountPages(panel)
    user = Access.USER
    return [
        panel.route("/dashboard", pages.dashboard, access=user),
        panel.route("/patterns", pages.patterns, access=user, methods=["GET", "POST"]),
        panel.route("/patterns/preview", pages.preview, access=user),
        panel.route(
            "/patterns/{pattern_id:id}/live", pages.pattern_live, access=user, methods=["POST"]
        ),
        panel.route("/tokens", pages.tokens, access=user, methods=["GET", "POST"]),
        panel.route("/tokens/{token_id:id}", pages.token, access=user, methods=["GET", "POST"]),
        panel.route(
            "/tokens/{token_id:id}/state", pages.token_state, access=user, methods=["POST"]
        ),
        panel.route(
            "/tokens/{token_id:id}/delete", pages.token_delete, access=user, methods=["POST"]
        ),
        panel.route("/messages/{message_id:id}", pages.message, access=user),
        panel.route("/credit", pages.credit, access=user),
        panel.route("/credit/webhook", pages.webhook, access=user, methods=["POST"]),
        panel.route("/credit/webhook-secret", pages.webhook_secret, access=user, methods=["POST"]),
    ]


def _user(visit: Visit) -> User:
    return visit.signed_in


def _owner(user: User) -> str:
    """Whose a draft is: a new token's secret is shown to the user who made it only."""
    return f"user:{user.id}"


class AccountPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.work = panel.workspace

    # dashboard ----------------------------------------------------------------------------

    async def dashboard(self, visit: Visit) -> Response:
        user = _user(visit)
        period = visit.request.query_params.get("period", "24h")
        traffic = await self.work.traffic(user, period)
        tr = self.panel.translator(visit)
        return self.panel.render(
            visit,
            "account/dashboard.html",
            account=await self.work.account(user),
            low_credit=await self.panel.alerts.view(user),
            traffic=traffic,
            periods=charts.PERIOD_LABELS,
            table=charts.rows(tr, traffic),
            totals=charts.series_totals(traffic),
            series_labels=charts.SERIES_LABELS,
            verification_label=lambda status: charts.verification_label(tr, status),
            chart=charts.chart_data(tr, traffic),
            page_base="/dashboard",
        )

    # patterns -----------------------------------------------------------------------------

    async def patterns(self, visit: Visit) -> Response:
        user = _user(visit)
        if visit.request.method == "GET":
            return await self._patterns_page(visit, text="", is_otp=True, description="")
        form = await visit.request.form()
        text = forms.text(form, "text")
        is_otp = forms.flag(form, "is_otp")
        description = forms.text(form, "description", 500)
        if forms.flag(form, "preview_only"):  # the preview button, for browsers without JS
            return await self._patterns_page(
                visit, text=text, is_otp=is_otp, description=description
            )
        try:
            await self.work.create_pattern(user, text=text, is_otp=is_otp, description=description)
        except GatewayError as exc:
            return await self._patterns_page(
                visit,
                text=text,
                is_otp=is_otp,
                description=description,
                error=self.panel.problem(visit, exc),
                status=422,
            )
        return self.panel.redirect(visit, "/patterns", flash="pattern_created")

    async def pattern_live(self, visit: Visit) -> Response:
        """Make an approved OTP pattern the one SendQuickOTP sends the account's codes with."""
        try:
            await self.work.choose_live_pattern(
                Actor(_user(visit), visit.ip), visit.request.path_params["pattern_id"]
            )
        except NotFound:
            raise  # another account's pattern, or none: the panel's 404
        except GatewayError as exc:
            return await self._patterns_page(
                visit,
                text="",
                is_otp=True,
                description="",
                error=self.panel.problem(visit, exc),
                status=422,
            )
        return self.panel.redirect(visit, "/patterns", flash="pattern_live")

    async def _patterns_page(
        self,
        visit: Visit,
        *,
        text: str,
        is_otp: bool,
        description: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        return self.panel.render(
            visit,
            "account/patterns.html",
            status=status,
            patterns=await self.work.patterns(_user(visit)),
            live=await self.work.live_pattern(_user(visit)),
            text=text,
            is_otp=is_otp,
            description=description,
            preview=self.work.preview(text, is_otp=is_otp) if text else None,
            error=error,
        )

    async def preview(self, visit: Visit) -> Response:
        """The live preview's fragment: the same template part the page itself renders."""
        query = visit.request.query_params
        preview = self.work.preview(
            forms.text(query, "text"),
            is_otp=forms.flag(query, "is_otp"),
            code_length=forms.whole(query, "code_length") or 6,
        )
        html = self.panel.render(visit, "account/_preview.html", preview=preview)
        return HTMLResponse(html.body, headers={"cache-control": "no-store"})

    # tokens -------------------------------------------------------------------------------

    async def tokens(self, visit: Visit) -> Response:
        user = _user(visit)
        if visit.request.method == "GET":
            # A new token's secret, kept for the page after the redirect and shown once.
            shown = visit.request.cookies.get(SHOWN_COOKIE, "")
            kept = await self.panel.users.take_draft(shown, _owner(user)) if shown else None
            if shown:
                visit.set_cookies.append(
                    lambda response: clear_cookie(response, self.panel.cookies, SHOWN_COOKIE)
                )
            if kept is not None:
                return await self._tokens_page(
                    visit, issued_secret=str(kept["secret"]), issued_id=int(kept["id"])
                )
            return await self._tokens_page(visit)
        form = await visit.request.form()
        try:
            issued = await self.work.issue_token(
                user,
                label=forms.text(form, "label", 100),
                expires_on=forms.day(form, "expires_on"),
                allowed_ips=forms.lines(form, "allowed_ips"),
                allowed_methods=forms.choices(form, "allowed_methods"),
            )
        except GatewayError as exc:
            return await self._tokens_page(visit, error=self.panel.problem(visit, exc), status=422)
        # Post/redirect/get: reloading the page that shows the secret makes no second token.
        shown = await self.panel.users.keep_draft(
            _owner(user), {"secret": issued.secret, "id": issued.token.id}
        )
        visit.set_cookies.append(
            lambda response: set_cookie(response, self.panel.cookies, SHOWN_COOKIE, shown, 300)
        )
        return self.panel.redirect(visit, "/tokens")

    async def _tokens_page(
        self,
        visit: Visit,
        *,
        error: str | None = None,
        status: int = 200,
        issued_secret: str | None = None,
        issued_id: int | None = None,
    ) -> Response:
        return self.panel.render(
            visit,
            "account/tokens.html",
            status=status,
            tokens=await self.work.tokens(_user(visit)),
            sends_today=await self.work.sends_today(_user(visit)),
            last_day=self.work.last_day,
            methods=API_METHODS,
            error=error,
            issued_secret=issued_secret,
            issued_id=issued_id,
        )

    async def token(self, visit: Visit) -> Response:
        user = _user(visit)
        token_id = visit.request.path_params["token_id"]
        token = await self.work.token(user, token_id)
        if visit.request.method == "GET":
            return self.panel.render(
                visit,
                "account/token.html",
                token=token,
                last_day=self.work.last_day,
                methods=API_METHODS,
                error=None,
            )
        form = await visit.request.form()
        try:
            await self.work.update_token(
                user,
                token_id,
                label=forms.text(form, "label", 100),
                expires_on=forms.day(form, "expires_on"),
                allowed_ips=forms.lines(form, "allowed_ips"),
                allowed_methods=forms.choices(form, "allowed_methods"),
            )
        except GatewayError as exc:
            return self.panel.render(
                visit,
                "account/token.html",
                status=422,
                token=token,
                last_day=self.work.last_day,
                methods=API_METHODS,
                error=self.panel.problem(visit, exc),
            )
        return self.panel.redirect(visit, "/tokens", flash="token_saved")

    async def token_state(self, visit: Visit) -> Response:
        form = await visit.request.form()
        active = forms.flag(form, "active")
        await self.work.set_token_active(
            _user(visit), visit.request.path_params["token_id"], active
        )
        return self.panel.redirect(
            visit, "/tokens", flash="token_enabled" if active else "token_disabled"
        )

    async def token_delete(self, visit: Visit) -> Response:
        await self.work.delete_token(_user(visit), visit.request.path_params["token_id"])
        return self.panel.redirect(visit, "/tokens", flash="token_deleted")

    # messages -----------------------------------------------------------------------------

    async def message(self, visit: Visit) -> Response:
        message_id = visit.request.path_params["message_id"]
        record = await self.work.message(_user(visit), message_id)
        return self.panel.render(
            visit,
            "account/message.html",
            record=record,
            posts=await self.work.webhook_posts(_user(visit), message_id),
            post_labels=charts.WEBHOOK_LABELS,
            post_summary=lambda post: charts.post_summary(self.panel.translator(visit), post),
            status_labels=charts.STATUS_LABELS,
            verification_label=lambda s: charts.verification_label(self.panel.translator(visit), s),
            back="/messages",
        )

    # credit and webhook -------------------------------------------------------------------

    async def credit(
        self, visit: Visit, *, error: str | None = None, status: int = 200
    ) -> Response:
        user = _user(visit)
        return self.panel.render(
            visit,
            "account/credit.html",
            status=status,
            credit=await self.work.credit(user),
            webhook=await self.work.webhook(user),
            error=error,
        )

    async def webhook(self, visit: Visit) -> Response:
        form = await visit.request.form()
        try:
            await self.work.set_webhook(_user(visit), forms.text(form, "url", 600))
        except GatewayError as exc:
            return await self.credit(visit, error=self.panel.problem(visit, exc), status=422)
        return self.panel.redirect(visit, "/credit", flash="webhook_saved")

    async def webhook_secret(self, visit: Visit) -> Response:
        await self.work.rotate_webhook_secret(_user(visit))
        return self.panel.redirect(visit, "/credit", flash="secret_rotated")
