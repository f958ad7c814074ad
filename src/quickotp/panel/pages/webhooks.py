"""
An account user's Webhooks page: every delivery-report URL of the account in one list, a
signed test event to any of them, and the latest report posts with a retry for those given
up on.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.errors import InvalidInput
from quickotp.panel import charts, forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.i18n import N_, Translator
from quickotp.panel.visits import Visit
from quickotp.services import webhooks
from quickotp.services.report_urls import ReportUrls, TestEvent

SOURCE_LABELS = {
    "api": N_("Amoot API (RelayMessageDeliveryCreate)"),
    "panel": N_("This panel (Credit & webhook)"),
}


def routes(panel: Panel, hooks: ReportUrls) -> list[Route]:
    pages = WebhookPages(panel, hooks)
    user = Access.USER
    return [
        panel.route("/webhooks", pages.overview, access=user),
        panel.route("/webhooks/test", pages.test, access=user, methods=["POST"]),
        panel.route(
            "/webhooks/posts/{delivery_id:id}/retry", pages.retry, access=user, methods=["POST"]
        ),
    ]


def test_outcome(tr: Translator, event: TestEvent) -> str:
    """A test event's outcome as a report post's is told: a summary, never the exact status."""
    if event.taken:
        return tr(N_("Your URL took the test event."))
    if event.status is not None:
        why = webhooks.http_summary(event.status)
    else:
        why = tr(charts.WEBHOOK_FAILURES.get(event.failure or "", N_("it failed")))
    return tr(N_("Your URL did not take the test event: {why}."), why=why)


class WebhookPages:
    def __init__(self, panel: Panel, hooks: ReportUrls) -> None:
        self.panel = panel
        self.hooks = hooks

    async def overview(
        self,
        visit: Visit,
        *,
        event: TestEvent | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        tr = self.panel.translator(visit)
        return self.panel.render(
            visit,
            "webhooks/index.html",
            status=status,
            hooks=await self.hooks.overview(visit.signed_in),
            event=event,
            event_text=test_outcome(tr, event) if event is not None else None,
            error=error,
            source_labels=SOURCE_LABELS,
            post_labels=charts.WEBHOOK_LABELS,
            post_summary=lambda post: charts.post_summary(tr, post),
            status_labels=charts.STATUS_LABELS,
        )

    async def test(self, visit: Visit) -> Response:
        form = await visit.request.form()
        event = await self.hooks.send_test(visit.signed_in, forms.text(form, "url", 20))
        return await self.overview(visit, event=event)

    async def retry(self, visit: Visit) -> Response:
        try:
            await self.hooks.retry(visit.signed_in, visit.request.path_params["delivery_id"])
        except InvalidInput as exc:
            return await self.overview(visit, error=self.panel.problem(visit, exc), status=422)
        return self.panel.redirect(visit, "/webhooks", flash="webhook_retried")
