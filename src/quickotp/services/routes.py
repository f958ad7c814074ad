"""
The operator's routes in the panel: each route's settings beside its state, its counts and
its alarms; adding and editing routes, switching them on and off, and a test send through
one route.

A route's counts are the database's, over the last hour (COUNT_WINDOW), the same for the list
and the route's own page and for every process: the messages it took (sent), of those the
delivered and the not delivered, and the messages whose last try failed on it (failed:
waiting to be tried again, given up or expired). Its state (domain/route_alarms.py,
`condition`) reads this process's live state, the shared alarms, and those counts.

A route's credential (an SMSC password, an upstream's token or API key) is write-only: it is
typed apart from the URL, never shown back, and left blank it keeps the stored one, but only
while the URL still leads to the same place (domain/route_urls.py). Every change is applied
in this process at once (other dispatching processes read the routes table every few
seconds) and written to the audit log, as every operator action is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from quickotp.domain import otp, phone, sms
from quickotp.domain.delivery import OutboundSms, RouteState
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryError,
    DeliveryUncertain,
    InvalidInput,
    NotFound,
    Subject,
)
from quickotp.domain.models import Actor, Console, MessageStatus
from quickotp.domain.route_alarms import Condition, RouteAlarm, condition
from quickotp.domain.route_urls import credential_of, same_destination, with_credential
from quickotp.domain.routing import DEFAULT_PRIORITY, Route, checked_route
from quickotp.ports.people import IdentityStore, PanelStore
from quickotp.ports.routes import AlarmStore, ReadRouteUrl, RouteStore, RouteSwitch
from quickotp.ports.store import AccountStore
from quickotp.ports.transport import RouteMonitor
from quickotp.services.audit import require_operator, write_audit

log = logging.getLogger(__name__)

COUNT_WINDOW = timedelta(hours=1)  # the window of every route count the panel shows
TAKEN = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED})
ALARMS_SHOWN = 20
TRIAL_CODE_LENGTH = 6
TRIAL_TEXT = "QuickOTP route test ({route}): {code}"
TRIAL_VALIDITY = timedelta(minutes=2)


@dataclass(frozen=True)
class RouteForm:
    """A route as the operator's form gives it; `credential` "" keeps the stored one."""

    url: str
    credential: str = ""
    prefixes: Sequence[str] = ()
    accounts: Sequence[str] = ()  # account ids as typed
    lines: Sequence[str] = ()
    priority: int = DEFAULT_PRIORITY
    enabled: bool = True


@dataclass(frozen=True)
class RouteView:
    """A route's settings beside its live state, what it carried lately, and its alarm."""

    route: Route | None  # credential blanked; None: a transport no stored route names
    state: RouteState | None  # None: this process does not run it
    counts: dict[MessageStatus, int] = field(default_factory=dict)
    alarm: RouteAlarm | None = None  # open

    @property
    def name(self) -> str:
        return self.route.name if self.route is not None else self.state.name if self.state else ""

    @property
    def sent(self) -> int:
        """Messages it took in the window, whatever became of them since."""
        return sum(n for status, n in self.counts.items() if status in TAKEN)

    @property
    def delivered(self) -> int:
        return self.counts.get(MessageStatus.DELIVERED, 0)

    @property
    def undelivered(self) -> int:
        return self.counts.get(MessageStatus.UNDELIVERED, 0)

    @property
    def failed(self) -> int:
        """Messages in the window whose last try failed on it (see the module docstring)."""
        return sum(n for status, n in self.counts.items() if status not in TAKEN)

    @property
    def condition(self) -> Condition:
        enabled = self.route.enabled if self.route is not None else True
        return condition(
            self.state, enabled=enabled, alarm=self.alarm, taken=self.sent, failed=self.failed
        )


@dataclass(frozen=True)
class RoutesOverview:
    routes: list[RouteView]
    alarms: list[RouteAlarm]  # the latest, open or cleared, newest first


@dataclass(frozen=True)
class TrialResult:
    """What came of a test send: the upstream's id for it, or why it was not taken."""

    route: str
    mobile: str  # the number as dialled, shortened: …1234
    receipt: str = ""
    error: str = ""
    uncertain: bool = False  # no answer: it may have been sent

    @property
    def sent(self) -> bool:
        return bool(self.receipt)


@dataclass
class RouteDesk:
    routes: RouteStore
    switch: RouteSwitch
    read_url: ReadRouteUrl
    alarms: AlarmStore
    monitor: RouteMonitor
    panel: PanelStore
    store: AccountStore
    identity: IdentityStore
    clock: Callable[[], datetime]
    randbelow: Callable[[int], int]
    regions: tuple[str, ...]

    # reading ----------------------------------------------------------------------------

    async def overview(self, actor: Actor) -> RoutesOverview:
        """Every stored route with its state, counts and open alarm; then what else ran."""
        require_operator(actor)
        counts = await self._counts()
        live = {state.name: state for state in self.monitor.routes()}
        open_alarms = {alarm.route: alarm for alarm in await self.alarms.open_alarms()}
        views = [
            RouteView(
                route,
                live.pop(route.name, None),
                counts.pop(route.name, {}),
                open_alarms.get(route.name),
            )
            for route in await self.routes.listing()
        ]
        # Transports that run or carried messages without a stored route: the log sink, a
        # route removed since.
        views += [RouteView(None, state, counts.pop(name, {})) for name, state in live.items()]
        views += [RouteView(None, RouteState(name, up=None), by) for name, by in counts.items()]
        return RoutesOverview(views, await self.alarms.recent_alarms(ALARMS_SHOWN))

    async def route(self, actor: Actor, name: str) -> tuple[RouteView, list[RouteAlarm]]:
        """One stored route (NotFound without it) as the overview shows it, and its alarms."""
        require_operator(actor)
        shown = await self._listed(name)
        states = {state.name: state for state in self.monitor.routes()}
        counts = await self._counts()
        recent = await self.alarms.recent_alarms(ALARMS_SHOWN, route=name)
        alarm = next((a for a in recent if a.cleared_at is None), None)
        return RouteView(shown, states.get(name), counts.get(name, {}), alarm), recent

    async def _counts(self) -> dict[str, dict[MessageStatus, int]]:
        """The window's messages by the route that took them, or that they failed on last."""
        counts = await self.panel.transport_counts(since=self.clock() - COUNT_WINDOW)
        counts.pop("", None)  # messages no route has taken or failed yet
        return counts

    # changing ---------------------------------------------------------------------------

    async def add(self, actor: Actor | Console, name: str, form: RouteForm) -> Route:
        """A new route; its credential is required (in the form's field or in its URL)."""
        require_operator(actor)
        route = await self._checked(name, form, None)
        await self.routes.add(route, self.clock())
        await self.switch.reload()
        await self._audit(
            actor,
            "route.add",
            route,
            f"{route.kind} {route.shown}" + ("" if route.enabled else " (off)"),
        )
        return route

    async def remove(self, actor: Actor | Console, name: str) -> None:
        """Take a route away for good; NotFound for a name unknown."""
        require_operator(actor)
        await self.routes.remove(name)
        await self.switch.reload()
        await self._audit(actor, "route.remove", name)

    async def edit(self, actor: Actor | Console, name: str, form: RouteForm) -> Route:
        """Replace a route's settings; a blank credential keeps the stored one (see above)."""
        require_operator(actor)
        try:
            stored = await self.routes.get(name)
        except ConfigurationError:  # sealed under another secret key: only a new one helps
            stored = replace(await self._listed(name), url="")
        route = await self._checked(name, form, stored)
        await self.routes.replace(route, self.clock())
        await self.switch.reload()
        await self._audit(actor, "route.edit", route, _changes(stored, route) or "nothing")
        return route

    async def set_enabled(self, actor: Actor | Console, name: str, enabled: bool) -> None:
        """Switch a route on or off; off, it stays stored and testable but carries nothing."""
        require_operator(actor)
        await self.routes.set_enabled(name, enabled, self.clock())
        await self.switch.reload()
        await self._audit(actor, "route.enable" if enabled else "route.disable", name)

    async def test_send(self, actor: Actor, name: str, mobile: str, sender: str) -> TrialResult:
        """
        One test message to `mobile` through the route `name` alone, from `sender` (blank:
        the route's first line), whether the route is on or off. Its text carries a random
        code, so the upstreams that send codes only can carry it too.
        """
        require_operator(actor)
        route = await self.routes.get(name)
        number = phone.normalise(mobile, regions=self.regions)
        line = sender.strip() or (route.lines[0] if route.lines else "")
        if not line and route.kind == "smpp":
            raise InvalidInput(
                "an SMPP route is tested from a sender line: give one", subject=Subject.TRIAL_LINE
            )
        code = otp.generate(TRIAL_CODE_LENGTH, self.randbelow)
        text = TRIAL_TEXT.format(route=route.name, code=code)
        message = OutboundSms(
            message_id=0,  # no message of the gateway's: a delivery report finds none
            mobile=number.e164,
            sender=line,
            text=text,
            parts=sms.segment(text).parts,
            expires_at=self.clock() + TRIAL_VALIDITY,
            code=code,
        )
        shown = "…" + number.last4
        try:
            receipt = await self.switch.trial(route, message)
        except DeliveryError as exc:
            result = TrialResult(
                route.name,
                shown,
                error=str(exc),
                uncertain=isinstance(exc, DeliveryUncertain),
            )
        else:
            result = TrialResult(route.name, shown, receipt=receipt.provider_message_id)
        outcome = f"taken as {result.receipt}" if result.sent else f"not taken: {result.error}"
        await self._audit(actor, "route.test", name, f"to {shown}, {outcome}"[:300])
        return result

    async def _listed(self, name: str) -> Route:
        """A stored route as listed (its URL not unsealed); NotFound without one."""
        for route in await self.routes.listing():
            if route.name == name:
                return route
        raise NotFound(f"no route named {name!r}")

    async def _checked(self, name: str, form: RouteForm, stored: Route | None) -> Route:
        """The route the form describes; InvalidInput (never echoing a credential) if none."""
        if not form.url.strip():
            raise InvalidInput("give the route's URL", subject=Subject.ROUTE_URL)
        typed = credential_of(form.url)
        credential = form.credential or typed
        if not credential and stored is not None:
            if not same_destination(stored.url, form.url):
                raise InvalidInput(
                    "the URL leads elsewhere now: give its password, token or API key again",
                    subject=Subject.ROUTE_CREDENTIAL_AGAIN,
                )
            credential = credential_of(stored.url)
        if not credential:
            raise InvalidInput(
                "give the route's password, token or API key", subject=Subject.ROUTE_CREDENTIAL
            )
        url = with_credential(form.url, credential)
        kind, shown = self.read_url(url)
        accounts = []
        for typed in form.accounts:
            raw = ascii_digits(typed)
            if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
                raise InvalidInput(
                    f"an account id is a number, not {typed[:20]!r}", subject=Subject.ROUTE_ACCOUNT
                )
            try:
                await self.store.get_account(int(raw))
            except NotFound:
                raise InvalidInput(
                    f"there is no account {raw}", subject=Subject.ROUTE_ACCOUNT, account=int(raw)
                ) from None
            accounts.append(int(raw))
        return checked_route(
            name=name,
            kind=kind,
            url=url,
            shown=shown,
            prefixes=form.prefixes,
            accounts=accounts,
            priority=form.priority,
            lines=form.lines,
            enabled=form.enabled if stored is None else stored.enabled,
        )

    async def _audit(
        self, actor: Actor | Console, action: str, route: Route | str, detail: str = ""
    ) -> None:
        name = route if isinstance(route, str) else route.name
        await write_audit(self.identity, self.clock(), actor, action, f"route:{name}", detail)


def _changes(old: Route, new: Route) -> str:
    """What an edit changed, by name; the credential only as "credential", never its value."""
    changed = [
        label
        for label, before, after in [
            ("url", old.shown, new.shown),
            ("credential", credential_of(old.url), credential_of(new.url)),
            ("prefixes", old.prefixes, new.prefixes),
            ("accounts", old.accounts, new.accounts),
            ("lines", old.lines, new.lines),
            ("priority", old.priority, new.priority),
        ]
        if before != after
    ]
    return ", ".join(changed)
