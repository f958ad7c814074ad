"""The operator's pages: approvals, accounts and users, invitations, traffic, audit."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.errors import AmountInvalid, Conflict, GatewayError, InvalidInput, NotFound
from quickotp.domain.models import Actor, Role
from quickotp.panel import charts, forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.i18n import N_
from quickotp.panel.visits import Visit
from quickotp.services.desk import AUDIT_PAGE


def routes(panel: Panel) -> list[Route]:
    pages = OperatorPages(panel)
    operator = Access.OPERATOR
    post = ["POST"]
    return [
        panel.route("/operator", pages.queue, access=operator),
        panel.route(
            "/operator/patterns/{pattern_id:id}/approve",
            pages.approve,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/patterns/{pattern_id:id}/reject",
            pages.reject,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/patterns/{pattern_id:id}/live",
            pages.pattern_live,
            access=operator,
            methods=post,
        ),
        panel.route("/operator/dashboard", pages.dashboard, access=operator),
        panel.route("/operator/accounts", pages.accounts, access=operator),
        panel.route("/operator/accounts/{account_id:id}", pages.account, access=operator),
        panel.route(
            "/operator/accounts/{account_id:id}/credit",
            pages.credit,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/overdraft",
            pages.overdraft,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/unlimited",
            pages.unlimited,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/state",
            pages.account_state,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/limits",
            pages.limits,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/free-text",
            pages.free_text,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/lines",
            pages.add_line,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/accounts/{account_id:id}/lines/remove",
            pages.remove_line,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/messages/{message_id:id}/cancel",
            pages.cancel_message,
            access=operator,
            methods=post,
        ),
        panel.route(
            "/operator/users/{user_id:id}/state", pages.user_state, access=operator, methods=post
        ),
        panel.route("/operator/guard", pages.guard, access=operator),
        panel.route("/operator/messages/{message_id:id}", pages.message, access=operator),
        panel.route(
            "/operator/invitations", pages.invitations, access=operator, methods=["GET", "POST"]
        ),
        panel.route("/operator/audit", pages.audit, access=operator),
    ]


LARGE_CHANGE = 10_000_000  # rial either way: a credit change this large is confirmed first


@dataclass(frozen=True)
class CreditForm:
    """The credit form as typed; `confirming` the amount of a large change to confirm."""

    amount: str = ""
    reason: str = ""
    confirming: int | None = None


def _actor(visit: Visit) -> Actor:
    return Actor(visit.signed_in, visit.ip)


class OperatorPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.desk = panel.desk

    # the approval queue -------------------------------------------------------------------

    async def queue(self, visit: Visit, *, error: str | None = None, status: int = 200) -> Response:
        after = forms.whole(visit.request.query_params, "after")
        page = await self.desk.queue(_actor(visit), after=after)
        return self.panel.render(
            visit,
            "operator/queue.html",
            status=status,
            queued=[
                (item, self.panel.workspace.preview(item.pattern.text, is_otp=item.pattern.is_otp))
                for item in page.items
            ],
            waiting=page.waiting,
            first_page=after is None,
            later=page.after,
            error=error,
        )

    async def approve(self, visit: Visit) -> Response:
        await self.desk.approve_pattern(_actor(visit), visit.request.path_params["pattern_id"])
        return self.panel.redirect(visit, "/operator", flash="approved")

    async def reject(self, visit: Visit) -> Response:
        form = await visit.request.form()
        try:
            await self.desk.reject_pattern(
                _actor(visit),
                visit.request.path_params["pattern_id"],
                forms.text(form, "reason", 500),
            )
        except InvalidInput:
            error = self.panel.translator(visit)(N_("Give a reason for the rejection."))
            return await self.queue(visit, error=error, status=422)
        return self.panel.redirect(visit, "/operator", flash="rejected")

    async def pattern_live(self, visit: Visit) -> Response:
        """Make an account's approved OTP pattern the one its codes go out with."""
        account_id = visit.request.path_params["account_id"]
        try:
            await self.desk.choose_otp_pattern(
                _actor(visit), account_id, visit.request.path_params["pattern_id"]
            )
        except NotFound:
            raise  # another account's pattern, or none: the panel's 404
        except GatewayError as exc:
            return await self.account(visit, error=self.panel.problem(visit, exc), status=422)
        return self.panel.redirect(
            visit, f"/operator/accounts/{account_id}", flash="pattern_live_operator"
        )

    # traffic ------------------------------------------------------------------------------

    async def dashboard(self, visit: Visit) -> Response:
        period = visit.request.query_params.get("period", "24h")
        traffic = await self.desk.traffic(_actor(visit), period)
        tr = self.panel.translator(visit)
        return self.panel.render(
            visit,
            "operator/dashboard.html",
            traffic=traffic,
            periods=charts.PERIOD_LABELS,
            table=charts.rows(tr, traffic),
            totals=charts.series_totals(traffic),
            series_labels=charts.SERIES_LABELS,
            verification_label=lambda status: charts.verification_label(tr, status),
            chart=charts.chart_data(tr, traffic),
            page_base="/operator/dashboard",
        )

    # accounts and users -------------------------------------------------------------------

    async def accounts(self, visit: Visit) -> Response:
        return self.panel.render(
            visit, "operator/accounts.html", summaries=await self.desk.accounts(_actor(visit))
        )

    async def account(
        self,
        visit: Visit,
        *,
        error: str | None = None,
        status: int = 200,
        limits_text: str | None = None,
        credit_form: CreditForm | None = None,
    ) -> Response:
        actor = _actor(visit)
        account_id = visit.request.path_params["account_id"]
        found = await self.desk.account(actor, account_id)
        line_id = forms.whole(visit.request.query_params, "credit_line")
        new_line = next((c for c in found.credit_changes if c.id == line_id), None)
        if limits_text is None:
            own = await self.desk.limits(actor, account_id)
            limits_text = "\n".join(f"{name} = {value}" for name, value in own.items())
        return self.panel.render(
            visit,
            "operator/account.html",
            status=status,
            file=found,
            status_labels=charts.STATUS_LABELS,
            error=error,
            limits_text=limits_text,
            limit_defaults=self.desk.limit_defaults(),
            credit_form=credit_form or CreditForm(),
            new_line=new_line,
            large_change=LARGE_CHANGE,
        )

    def _account_changed(self, visit: Visit, account_id: int) -> Response:
        """Back to the account's page, which says the change was made."""
        return self.panel.redirect(
            visit, f"/operator/accounts/{account_id}", flash="account_changed"
        )

    async def limits(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        try:
            await self.desk.set_limits(_actor(visit), account_id, forms.settings(form, "limits"))
        except InvalidInput as exc:
            return await self.account(
                visit,
                error=self.panel.problem(visit, exc),
                status=422,
                limits_text=forms.text(form, "limits", 20_000),
            )
        return self._account_changed(visit, account_id)

    async def guard(self, visit: Visit) -> Response:
        return self.panel.render(
            visit, "operator/guard.html", report=await self.desk.guard_report(_actor(visit))
        )

    async def credit(self, visit: Visit) -> Response:
        """
        Add or take credit. A change of LARGE_CHANGE or more either way is a second step:
        the page shows the balance it leaves and the ledger line it writes, and the change
        is made once the operator ticks that they checked it.
        """
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        amount = forms.whole(form, "amount")
        typed = CreditForm(forms.text(form, "amount", 40), forms.text(form, "reason", 200))
        try:
            if amount is None:
                raise AmountInvalid("the amount is a whole number of rial")
            if abs(amount) >= LARGE_CHANGE and not forms.flag(form, "confirmed"):
                return await self.account(
                    visit, credit_form=CreditForm(str(amount), typed.reason, amount)
                )
            _, line = await self.desk.add_credit(_actor(visit), account_id, amount, typed.reason)
        except GatewayError as exc:
            return await self.account(
                visit, error=self.panel.problem(visit, exc), status=422, credit_form=typed
            )
        return self.panel.redirect(
            visit, f"/operator/accounts/{account_id}?credit_line={line.id}", flash="credit_added"
        )

    async def overdraft(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        overdraft = forms.whole(form, "overdraft")
        try:
            if overdraft is None:
                raise AmountInvalid("an overdraft is a whole number of rial")
            await self.desk.set_overdraft(_actor(visit), account_id, overdraft)
        except GatewayError as exc:
            return await self.account(visit, error=self.panel.problem(visit, exc), status=422)
        return self._account_changed(visit, account_id)

    async def unlimited(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        await self.desk.set_unlimited(_actor(visit), account_id, forms.flag(form, "unlimited"))
        return self._account_changed(visit, account_id)

    async def free_text(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        await self.desk.set_free_text(_actor(visit), account_id, forms.flag(form, "free_text"))
        return self._account_changed(visit, account_id)

    async def add_line(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        try:
            await self.desk.add_line(_actor(visit), account_id, forms.text(form, "line", 40))
        except (InvalidInput, Conflict) as exc:
            return await self.account(visit, error=self.panel.problem(visit, exc), status=422)
        return self._account_changed(visit, account_id)

    async def remove_line(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        try:
            await self.desk.remove_line(_actor(visit), account_id, forms.text(form, "line", 40))
        except (NotFound, InvalidInput) as exc:
            return await self.account(visit, error=self.panel.problem(visit, exc), status=422)
        return self._account_changed(visit, account_id)

    async def cancel_message(self, visit: Visit) -> Response:
        message_id = visit.request.path_params["message_id"]
        message = await self.desk.message(_actor(visit), message_id)
        back = f"/operator/accounts/{message.message.account_id}"
        try:
            await self.desk.cancel_message(_actor(visit), message_id)
        except Conflict:
            return self.panel.redirect(visit, back, flash="too_late_to_cancel")
        return self.panel.redirect(visit, back, flash="message_canceled")

    async def account_state(self, visit: Visit) -> Response:
        form = await visit.request.form()
        account_id = visit.request.path_params["account_id"]
        await self.desk.set_account_active(_actor(visit), account_id, forms.flag(form, "active"))
        return self._account_changed(visit, account_id)

    async def user_state(self, visit: Visit) -> Response:
        form = await visit.request.form()
        user = await self.desk.set_user_active(
            _actor(visit), visit.request.path_params["user_id"], forms.flag(form, "active")
        )
        back = (
            f"/operator/accounts/{user.account_id}" if user.account_id else "/operator/invitations"
        )
        return self.panel.redirect(visit, back, flash="user_changed")

    async def message(self, visit: Visit) -> Response:
        message_id = visit.request.path_params["message_id"]
        record = await self.desk.message(_actor(visit), message_id)
        tr = self.panel.translator(visit)
        return self.panel.render(
            visit,
            "account/message.html",
            record=record,
            posts=await self.desk.webhook_posts(_actor(visit), message_id),
            post_labels=charts.WEBHOOK_LABELS,
            post_summary=lambda post: charts.post_summary(tr, post),
            status_labels=charts.STATUS_LABELS,
            verification_label=lambda s: charts.verification_label(tr, s),
            back=f"/operator/accounts/{record.message.account_id}",
        )

    # invitations --------------------------------------------------------------------------

    async def invitations(self, visit: Visit) -> Response:
        actor = _actor(visit)
        issued, error, status = None, None, 200
        if visit.request.method == "POST":
            form = await visit.request.form()
            role = Role.OPERATOR if forms.text(form, "role") == Role.OPERATOR else Role.USER
            try:
                invitation = await self.desk.invite(
                    actor,
                    email=forms.text(form, "email", 254),
                    role=role,
                    account_id=forms.whole(form, "account_id"),
                )
            except GatewayError as exc:
                error, status = self.panel.problem(visit, exc), 422
            else:
                origin = str(visit.request.base_url).rstrip("/")
                issued = f"{origin}{self.panel.base}/invitations/{invitation.secret}"
        return self.panel.render(
            visit,
            "operator/invitations.html",
            status=status,
            issued=issued,
            error=error,
            invitations=await self.desk.invitations(actor),
            summaries=await self.desk.accounts(actor),
            operators=await self.desk.operators(actor),
            query_account=forms.whole(visit.request.query_params, "account"),
        )

    # the audit log ------------------------------------------------------------------------

    async def audit(self, visit: Visit) -> Response:
        before = forms.whole(visit.request.query_params, "before")
        entries = await self.desk.audit(_actor(visit), before=before)
        return self.panel.render(
            visit,
            "operator/audit.html",
            entries=entries,
            first_page=before is None,
            older=entries[-1].id if len(entries) == AUDIT_PAGE else None,
        )
