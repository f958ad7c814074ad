"""
The low-credit alert's pages: an account user's (their own account's threshold, and the
alerts sent to its URLs) and the operator's, for any account.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.alerts import MAX_THRESHOLD
from quickotp.domain.errors import GatewayError, InvalidInput, Subject
from quickotp.domain.models import Actor
from quickotp.panel import charts, forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.visits import Visit
from quickotp.services.credit_alerts import AlertView


def routes(panel: Panel) -> list[Route]:
    pages = AlertPages(panel)
    both = ["GET", "POST"]
    return [
        panel.route("/alerts", pages.own, access=Access.USER, methods=both),
        panel.route(
            "/operator/accounts/{account_id:id}/alert",
            pages.operator,
            access=Access.OPERATOR,
            methods=both,
        ),
    ]


class AlertPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.alerts = panel.alerts

    async def own(self, visit: Visit) -> Response:
        user = visit.signed_in
        error, status = None, 200
        if visit.request.method == "POST":
            form = await visit.request.form()
            try:
                await self.alerts.set_own(user, _amount(form))
            except GatewayError as exc:
                error, status = self.panel.problem(visit, exc), 422
            else:
                return self.panel.redirect(visit, "/alerts", flash="alert_saved")
        return self._page(visit, await self.alerts.view(user), "/alerts", error, status)

    async def operator(self, visit: Visit) -> Response:
        actor = Actor(visit.signed_in, visit.ip)
        account_id = visit.request.path_params["account_id"]
        here = f"/operator/accounts/{account_id}/alert"
        error, status = None, 200
        if visit.request.method == "POST":
            form = await visit.request.form()
            try:
                await self.alerts.set_for(actor, account_id, _amount(form))
            except GatewayError as exc:
                error, status = self.panel.problem(visit, exc), 422
            else:
                return self.panel.redirect(visit, here, flash="alert_saved")
        view = await self.alerts.view_for(actor, account_id)
        return self._page(visit, view, here, error, status)

    def _page(
        self, visit: Visit, view: AlertView, action: str, error: str | None, status: int
    ) -> Response:
        return self.panel.render(
            visit,
            "alerts/alert.html",
            status=status,
            view=view,
            action=action,
            error=error,
            post_labels=charts.WEBHOOK_LABELS,
        )


def _amount(form: FormData) -> int | None:
    """The threshold typed (any digits, separators); None when empty. InvalidInput if not one."""
    if not forms.text(form, "threshold"):
        return None
    amount = forms.whole(form, "threshold")
    if amount is None:
        raise InvalidInput(
            "the threshold is a whole number of rial",
            subject=Subject.THRESHOLD,
            high=MAX_THRESHOLD,
        )
    return amount
