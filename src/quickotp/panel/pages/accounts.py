"""
Pages about people's access: an operator's password reset link for a user, the public page
that link opens, and one's own sign-in history.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.credentials import SignInOutcome
from quickotp.domain.errors import GatewayError
from quickotp.domain.models import Actor
from quickotp.panel import forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.i18n import N_
from quickotp.panel.pages.auth import refused
from quickotp.panel.visits import Visit

OUTCOME_LABELS = {
    SignInOutcome.SIGNED_IN: N_("Signed in"),
    SignInOutcome.WRONG_PASSWORD: N_("Wrong password"),
    SignInOutcome.WRONG_CODE: N_("Wrong two-step code"),
    SignInOutcome.DISABLED: N_("Refused: user disabled"),
}


def routes(panel: Panel) -> list[Route]:
    pages = AccountsPages(panel)
    return [
        panel.route(
            "/operator/users/{user_id:id}/reset",
            pages.reset_issue,
            access=Access.OPERATOR,
            methods=["POST"],
        ),
        panel.route("/reset/{secret}", pages.reset, access=Access.PUBLIC, methods=["GET", "POST"]),
        panel.route("/settings/sign-ins", pages.history, access=Access.SIGNED_IN),
    ]


class AccountsPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    async def reset_issue(self, visit: Visit) -> Response:
        """The operator asked for a user's reset link: it is shown on this page, once."""
        issued = await self.panel.desk.reset_password(
            Actor(visit.signed_in, visit.ip), visit.request.path_params["user_id"]
        )
        origin = str(visit.request.base_url).rstrip("/")
        user = issued.user
        return self.panel.render(
            visit,
            "accounts/reset_issued.html",
            target=user,
            link=f"{origin}{self.panel.base}/reset/{issued.secret}",
            back=f"/operator/accounts/{user.account_id}"
            if user.account_id
            else "/operator/invitations",
        )

    async def reset(self, visit: Visit) -> Response:
        secret = visit.request.path_params["secret"]
        try:
            target = await self.panel.users.reset_user(secret)
        except GatewayError as exc:
            return self.panel.error(visit, 404, self.panel.problem(visit, exc))
        if visit.request.method == "GET":
            return self.panel.render(visit, "accounts/reset.html", target=target, error=None)
        form = await visit.request.form()
        new = forms.secret(form, "new_password")
        error = None
        if new != forms.secret(form, "repeat_password"):
            error = self.panel.translator(visit)(N_("The two new passwords differ."))
        else:
            try:
                await self.panel.users.use_reset(secret, new)
            except GatewayError as exc:
                page = self.panel.render(
                    visit,
                    "accounts/reset.html",
                    target=target,
                    error=self.panel.problem(visit, exc),
                )
                return refused(exc, 422, page)
        if error is not None:
            return self.panel.render(
                visit, "accounts/reset.html", status=422, target=target, error=error
            )
        if visit.session is not None:  # someone else's session in this browser: end it
            await self.panel.users.sign_out(visit.session)
            self.panel.end_session(visit)
        return self.panel.redirect(visit, "/sign-in", flash="password_set")

    async def history(self, visit: Visit) -> Response:
        return self.panel.render(
            visit,
            "accounts/sign_ins.html",
            events=await self.panel.users.history(visit.signed_in),
            outcome_labels=OUTCOME_LABELS,
        )
