"""
An account user's quick start: what is ready (an approved OTP pattern, a token, credit), the
two calls in four languages for this gateway's address, and a test code sent to the
person's own number.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain import errors
from quickotp.domain.errors import GatewayError, InvalidInput, NotFound, Subject
from quickotp.domain.models import PatternState
from quickotp.panel import forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.i18n import N_
from quickotp.panel.snippets import TOKEN_PLACEHOLDER, snippets
from quickotp.panel.visits import Visit
from quickotp.services.quick_start import QuickStart
from quickotp.services.sends import SentOtp

SEND_REFUSALS: dict[type[Exception], str] = {
    errors.MobileEmpty: N_("Enter your mobile number."),
    errors.PatternUnavailable: N_(
        "Your account has no approved OTP pattern yet: write one under Patterned SMS."
    ),
    errors.CreditNotEnough: N_("Your credit does not cover this message."),
}


def routes(panel: Panel, quick: QuickStart, *, public_url: str | None) -> list[Route]:
    pages = QuickStartPages(panel, quick, public_url)
    return [
        panel.route("/quick-start", pages.page, access=Access.USER, methods=["GET", "POST"]),
    ]


class QuickStartPages:
    def __init__(self, panel: Panel, quick: QuickStart, public_url: str | None) -> None:
        self.panel = panel
        self.quick = quick
        self.public_url = public_url

    def base_url(self, visit: Visit) -> str:
        """QUICKOTP_PUBLIC_URL, else the scheme and host this page was asked at."""
        if self.public_url:
            return self.public_url
        url = visit.request.url
        return f"{url.scheme}://{url.netloc}"

    def refusal(self, visit: Visit, exc: GatewayError) -> str:
        """Why a test send was refused: the likely reasons said for a sender, others as anywhere."""
        for cls in type(exc).__mro__:
            if cls in SEND_REFUSALS:
                return self.panel.translator(visit)(SEND_REFUSALS[cls])
        return self.panel.problem(visit, exc)

    async def page(self, visit: Visit) -> Response:
        """The page; a POST is the test send, answered on the page itself."""
        user = visit.signed_in
        sent: SentOtp | None = None
        error = None
        mobile = ""
        chosen: int | None = None
        status = 200
        if visit.request.method == "POST":
            form = await visit.request.form()
            mobile = forms.text(form, "mobile", 40)
            chosen = forms.whole(form, "token")
            try:
                if chosen is None:
                    raise InvalidInput("choose the token to send with", subject=Subject.SEND_AS)
                sent = await self.quick.test_send(user, token_id=chosen, mobile=mobile, ip=visit.ip)
            except NotFound:
                raise  # another account's token: "nothing here", as for any of its pages
            except GatewayError as exc:
                error, status = self.refusal(visit, exc), 422
        work = self.panel.workspace
        tokens = [token for token in await work.tokens(user) if token.active]
        patterns = await work.patterns(user)
        return self.panel.render(
            visit,
            "quick_start/page.html",
            status=status,
            account=await work.account(user),
            has_pattern=any(p.is_otp and p.state is PatternState.APPROVED for p in patterns),
            tokens=tokens,
            chosen=chosen,
            mobile=mobile,
            sent=sent,
            error=error,
            base_url=self.base_url(visit),
            snippets=snippets(self.base_url(visit)),
            placeholder=TOKEN_PLACEHOLDER,
        )
