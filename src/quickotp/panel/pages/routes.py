"""
The operator's route pages: every route with its state, counters and alarms; adding and
editing a route (its credential write-only), switching it on and off, and a test send.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.errors import (
    ConfigurationError,
    GatewayError,
    InvalidInput,
    RequestRejected,
    Subject,
)
from quickotp.domain.models import Actor
from quickotp.domain.route_alarms import Health
from quickotp.domain.route_urls import blanked
from quickotp.domain.routing import DEFAULT_PRIORITY, BreakerState
from quickotp.panel import charts, forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.i18n import N_
from quickotp.panel.visits import Visit
from quickotp.services.routes import RouteDesk, RouteForm, TrialResult

ALARM_LABELS = {Health.DOWN: N_("Down"), Health.FAILING: N_("Failing")}
# A route's circuit breaker when it is not closed (domain/routing.py, BreakerState).
BREAKER_LABELS = {
    BreakerState.OPEN: N_("Taken out of use for a while after failures in a row"),
    BreakerState.HALF_OPEN: N_("Trying one message to see if it works again"),
}
EMPTY_FORM = {"name": "", "url": "", "prefixes": "", "accounts": "", "lines": "", "priority": ""}


def routes(panel: Panel, desk: RouteDesk) -> list[Route]:
    pages = RoutePages(panel, desk)
    operator = Access.OPERATOR
    both = ["GET", "POST"]
    return [
        panel.route("/operator/routes", pages.overview, access=operator),
        panel.route("/operator/routes/new", pages.add, access=operator, methods=both),
        panel.route("/operator/routes/{name}/edit", pages.edit, access=operator, methods=both),
        panel.route(
            "/operator/routes/{name}/state", pages.state, access=operator, methods=["POST"]
        ),
        panel.route("/operator/routes/{name}/test", pages.test, access=operator, methods=["POST"]),
    ]


def _actor(visit: Visit) -> Actor:
    return Actor(visit.signed_in, visit.ip)


def _typed(form: FormData) -> dict[str, str]:
    """What the form held, to show again after a refusal: never the credential, and the URL
    with any credential typed into it blanked."""
    url = forms.text(form, "url", 1000)
    try:
        url = blanked(url)
    except InvalidInput:
        url = ""
    return {
        "name": forms.text(form, "name", 40),
        "url": url,
        "prefixes": forms.text(form, "prefixes"),
        "accounts": forms.text(form, "accounts"),
        "lines": forms.text(form, "lines"),
        "priority": forms.text(form, "priority", 20),
    }


def _route_form(form: FormData) -> RouteForm:
    """The form as the desk takes it; InvalidInput for a priority that is no number."""
    priority = forms.whole(form, "priority")
    if priority is None and forms.text(form, "priority"):
        raise InvalidInput("a priority is a whole number", subject=Subject.ROUTE_PRIORITY)
    return RouteForm(
        url=forms.text(form, "url", 1000),
        credential=forms.text(form, "credential", 500),
        prefixes=forms.lines(form, "prefixes"),
        accounts=forms.lines(form, "accounts"),
        lines=forms.lines(form, "lines"),
        priority=DEFAULT_PRIORITY if priority is None else priority,
        enabled=forms.flag(form, "enabled"),
    )


class RoutePages:
    def __init__(self, panel: Panel, desk: RouteDesk) -> None:
        self.panel = panel
        self.desk = desk

    async def overview(self, visit: Visit) -> Response:
        found = await self.desk.overview(_actor(visit))
        return self.panel.render(
            visit,
            "routes/index.html",
            overview=found,
            open_alarms=[view for view in found.routes if view.alarm is not None],
            status_labels=charts.STATUS_LABELS,
            alarm_labels=ALARM_LABELS,
            breaker_labels=BREAKER_LABELS,
        )

    async def add(self, visit: Visit) -> Response:
        if visit.request.method == "GET":
            return self._form_page(visit, {**EMPTY_FORM, "priority": str(DEFAULT_PRIORITY)})
        form = await visit.request.form()
        try:
            route = await self.desk.add(
                _actor(visit), forms.text(form, "name", 40), _route_form(form)
            )
        except GatewayError as exc:
            return self._form_page(
                visit, _typed(form), error=self.panel.problem(visit, exc), status=422
            )
        return self.panel.redirect(
            visit, f"/operator/routes/{route.name}/edit", flash="route_added"
        )

    def _form_page(
        self, visit: Visit, typed: dict[str, str], *, error: str | None = None, status: int = 200
    ) -> Response:
        return self.panel.render(visit, "routes/new.html", status=status, typed=typed, error=error)

    async def edit(self, visit: Visit) -> Response:
        name = visit.request.path_params["name"]
        if visit.request.method == "GET":
            return await self._route_page(visit)
        form = await visit.request.form()
        try:
            await self.desk.edit(_actor(visit), name, _route_form(form))
        except InvalidInput as exc:
            return await self._route_page(
                visit, typed=_typed(form), error=self.panel.problem(visit, exc), status=422
            )
        return self.panel.redirect(visit, f"/operator/routes/{name}/edit", flash="route_saved")

    async def state(self, visit: Visit) -> Response:
        form = await visit.request.form()
        enabled = forms.flag(form, "enabled")
        name = visit.request.path_params["name"]
        await self.desk.set_enabled(_actor(visit), name, enabled)
        flash = "route_enabled" if enabled else "route_disabled"
        back = (
            "/operator/routes" if forms.flag(form, "from_list") else f"/operator/routes/{name}/edit"
        )
        return self.panel.redirect(visit, back, flash=flash)

    async def test(self, visit: Visit) -> Response:
        form = await visit.request.form()
        mobile, sender = forms.text(form, "mobile", 40), forms.text(form, "sender", 20)
        try:
            result = await self.desk.test_send(
                _actor(visit), visit.request.path_params["name"], mobile, sender
            )
        except (RequestRejected, ConfigurationError) as exc:  # the number, the line, the key
            return await self._route_page(
                visit,
                test_error=self.panel.problem(visit, exc),
                test_typed={"mobile": mobile, "sender": sender},
                status=422,
            )
        return await self._route_page(
            visit, trial=result, test_typed={"mobile": mobile, "sender": sender}
        )

    async def _route_page(
        self,
        visit: Visit,
        *,
        typed: dict[str, str] | None = None,
        error: str | None = None,
        trial: TrialResult | None = None,
        test_error: str | None = None,
        test_typed: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        view, alarms = await self.desk.route(_actor(visit), visit.request.path_params["name"])
        route = view.route
        assert route is not None  # noqa: S101 - the desk's route() reads a stored one
        stored = {
            "name": route.name,
            "url": route.shown,
            "prefixes": " ".join(route.prefixes),
            "accounts": " ".join(map(str, route.accounts)),
            "lines": " ".join(route.lines),
            "priority": str(route.priority),
        }
        return self.panel.render(
            visit,
            "routes/route.html",
            status=status,
            view=view,
            route=route,
            alarms=alarms,
            typed=typed or stored,
            error=error,
            trial=trial,
            test_error=test_error,
            test_typed=test_typed or {"mobile": "", "sender": ""},
            status_labels=charts.STATUS_LABELS,
            alarm_labels=ALARM_LABELS,
            breaker_labels=BREAKER_LABELS,
        )
