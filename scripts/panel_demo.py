"""
A demo gateway for the panel's screenshots (scripts/screenshots): two operators, two
accounts with their users, tokens and patterns, credit, an SMPP route, and four weeks of
traffic: one-time codes, pattern and free-text messages, delivered, undelivered or failed,
codes verified, mistyped or left to expire.

Everything goes through the gateway's own use cases (the CLI's, the panel's and /rest's),
with a clock that walks through the past: each step happens at its moment, so every date
the panel shows (sign-ups, approvals, credit, messages, the audit log) is one a real
gateway would hold. Delivery is what a dispatcher records: claims, the upstream's answers
and its delivery reports, at the times they would come. Random choices come from a seeded
generator; codes and secrets from the gateway's own randomness.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.errors import GatewayError, VerificationFailed
from quickotp.domain.models import (
    Actor,
    Caller,
    Console,
    FailureKind,
    GiveUp,
    MessageStatus,
    Pattern,
    Role,
    Submitted,
    User,
)
from quickotp.domain.otp import mask
from quickotp.services.messaging import Messaging
from quickotp.services.routes import RouteForm
from quickotp.services.sends import SentOtp
from quickotp.settings import Settings

TEHRAN = ZoneInfo("Asia/Tehran")
DAYS = 28  # of traffic, up to the moment the demo is made
ROUTE = "smsc-main"
OPERATOR_IP = "198.51.100.7"
API_IP = "203.0.113.25"
LEASE = timedelta(minutes=1)
# How busy each hour of a Tehran day is, relative to the others (0-23).
# fmt: off
HOURS = (
    10, 5, 3, 2, 2, 3, 6, 12, 20, 30, 35, 35,  # midnight to noon
    30, 28, 26, 25, 26, 28, 32, 38, 40, 36, 26, 16,  # noon to midnight
)
# fmt: on
PREFIXES = ("912", "913", "919", "935", "936", "937", "938", "939", "901", "902", "990", "921")
OFFERS_LINE = "9810004321"
OFFER = "نوا: حراج آخر هفته تا ۴۰٪ تخفیف. navashop.example/sale لغو۱۱"
REJECT_REASON = "Advertising is not sent on the OTP line: send offers from a marketing line."
FAILED_REASON = "TransportRejected: submit_sm refused: ESME_RINVDSTADR (0x0000000B)"


@dataclass(frozen=True)
class Person:
    """Someone who signs in to the demo's panel."""

    email: str
    password: str
    role: Role
    account_id: int | None = None


@dataclass(frozen=True)
class Demo:
    """What a caller needs to find its way around the demo."""

    operator: Person
    user: Person  # of the first account
    accounts: tuple[int, ...]
    message_id: int  # a verified one-time code of the first account, of the last day
    route: str
    messages: int  # stored, every account together
    refused: int  # sends the gateway refused (none, when all went as planned)


class DemoClock:
    """The time now for every service that makes the demo: moved forward only, step by step."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, moment: datetime) -> None:
        if moment < self.now:
            raise ValueError(f"the demo's clock runs forward only ({moment} < {self.now})")
        self.now = moment


@dataclass(frozen=True)
class Fate:
    """What becomes of one message once sent: its report, and its code's verification."""

    report: DeliveryState | None  # None: failed at the upstream, or no report came
    failed: bool = False
    verify: str = "none"  # none | right | wrong-then-right | locked-out


@dataclass
class _Account:
    """One demo account and how its traffic runs."""

    id: int
    tokens: dict[str, str]  # kind of send (otp, pattern, text) -> the token that sends it
    pattern: int  # its approved pattern with variables of its own
    pattern_values: Callable[[random.Random], list[str]]
    numbers: list[str]  # its customers
    per_day: tuple[float, float]  # messages a day at the start and at the end of the weeks
    friday: float  # how busy a Friday is, relative to the other days
    mix: tuple[float, float]  # the shares of pattern messages and of free text; the rest: codes


@dataclass(frozen=True)
class _Cast:
    """Who and what the gateway's first week made, that the weeks after it use."""

    operator: Person
    actor: Actor
    owner: Person
    owner_user: User
    developer: User
    reception: User
    staging_token: int
    accounts: tuple[_Account, _Account]  # the shop's, the clinic's


@dataclass(order=True)
class _Event:
    at: datetime
    order: int
    run: Callable[[], Awaitable[None]] = field(compare=False)


@dataclass
class _Seed:
    """The demo's runtime, its clock, and its timeline of events still to come."""

    runtime: Runtime
    clock: DemoClock
    rng: random.Random
    messaging: Messaging
    end: datetime
    events: list[_Event] = field(default_factory=list)
    fates: dict[int, tuple[Fate, SentOtp, _Account]] = field(default_factory=dict)
    order: itertools.count[int] = field(default_factory=itertools.count)
    refused: int = 0
    scheduled: int = 0
    verified: list[tuple[datetime, int, int]] = field(default_factory=list)  # at, account, id

    def at(self, moment: datetime, run: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.events, _Event(moment, next(self.order), run))

    async def run_events(self) -> None:
        """Each event at its time, in order, until none is left (events add events)."""
        while self.events:
            event = heapq.heappop(self.events)
            self.clock.move_to(event.at)
            await event.run()

    async def caller(self, account: _Account, kind: str, method: str) -> Caller:
        return await self.runtime.gateway.authenticate(
            account.tokens[kind], method=method, ip=API_IP
        )

    async def submit(self) -> None:
        """What a dispatcher does: claim what is due, hand it over, record the answers."""
        now = self.clock.now
        outcomes: list[Submitted | GiveUp] = []
        for claimed in await self.runtime.store.claim(now, LEASE, 100):
            message = claimed.message
            fate, sent, account = self.fates[message.id]
            if fate.failed:
                refused = FailureKind.REFUSED  # as FAILED_REASON says
                outcomes.append(
                    GiveUp(message.id, MessageStatus.FAILED, FAILED_REASON, kind=refused)
                )
                continue
            receipt = SendReceipt(ROUTE, f"{self.rng.getrandbits(48):012x}")
            masked = mask(message.text, claimed.code) if claimed.code else message.text
            outcomes.append(Submitted(message.id, receipt, masked, now))
            reported = now
            if fate.report is not None:
                seconds = 2 + 20 * self.rng.random()
                if fate.report is not DeliveryState.DELIVERED:
                    seconds = 60 + 600 * self.rng.random()
                reported = now + timedelta(seconds=seconds)
                self.at(reported, self._report(receipt, fate.report))
            if fate.verify != "none":
                self._plan_checks(fate, sent, account, reported)
        await self.runtime.store.record(outcomes, now=now)

    def _report(self, receipt: SendReceipt, state: DeliveryState) -> Callable[[], Awaitable[None]]:
        async def report() -> None:
            now = self.clock.now
            found = DeliveryReport(receipt.transport, receipt.provider_message_id, state, now)
            await self.runtime.store.record(reports=[found], now=now)

        return report

    def _plan_checks(self, fate: Fate, sent: SentOtp, account: _Account, seen: datetime) -> None:
        """The customer types the code they got, rightly or not, before it expires."""
        if sent.expires_at is None:
            raise RuntimeError(f"message {sent.message_id} carries a code that never expires")
        last = sent.expires_at - timedelta(seconds=5)
        moment = min(seen + timedelta(seconds=6 + 40 * self.rng.random()), last)
        wrong = str((int(sent.code) + 1 + self.rng.randrange(10**4)) % 10 ** len(sent.code))
        wrong = wrong.zfill(len(sent.code))
        typed = {
            "right": [sent.code],
            "wrong-then-right": [wrong, sent.code],
            "locked-out": [wrong] * 10,
        }[fate.verify]
        for tries, code in enumerate(typed):
            self.at(
                min(moment + timedelta(seconds=8 * tries), last), self._check(sent, account, code)
            )

    def _check(self, sent: SentOtp, account: _Account, code: str) -> Callable[[], Awaitable[None]]:
        async def check() -> None:
            caller = await self.caller(account, "otp", "VerifyQuickOTP")
            try:
                await self.runtime.gateway.verifications.check(
                    caller, code=code, verification_id=sent.verification_id
                )
            except VerificationFailed:
                if code == sent.code:
                    raise
                return
            self.verified.append((self.clock.now, account.id, sent.message_id))

        return check


async def seed(
    database_url: str, secret_key: str, smsc_port: int, *, random_seed: int = 1405
) -> Demo:
    """
    Migrate the empty database at `database_url` and fill it with the demo, its route
    pointing at an SMSC on 127.0.0.1:`smsc_port`. `secret_key` must be the one the server
    then runs with (tokens, codes and the route's credentials are keyed or sealed with it).
    """
    end = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(end - timedelta(days=DAYS + 7))
    settings = Settings.from_env(
        {
            "QUICKOTP_SECRET_KEY": secret_key,
            "QUICKOTP_DATABASE_URL": database_url,
            "QUICKOTP_TOKEN_CACHE_SECONDS": "0",  # tokens and accounts change as it goes
            "QUICKOTP_SQLITE_SYNCHRONOUS": "NORMAL",  # a throwaway database: no fsync a commit
        }
    )
    runtime = build_runtime(settings, dispatch=False, admit=False, clock=clock)
    await upgrade(runtime.engines)
    await runtime.start()
    try:
        if runtime.gateway.lines is None:
            raise RuntimeError("the runtime was built without its sender lines")
        state = _Seed(
            runtime,
            clock,
            random.Random(random_seed),
            Messaging(runtime.gateway, runtime.gateway.lines),
            end,
        )
        return await _fill(state, smsc_port)
    finally:
        await runtime.aclose()


async def _fill(seed: _Seed, smsc_port: int) -> Demo:
    cast = await _first_days(seed, smsc_port)
    _plan_weeks(seed, cast)
    await seed.run_events()
    shop = cast.accounts[0].id
    shown_message = max(m for m in seed.verified if m[1] == shop)
    return Demo(
        operator=cast.operator,
        user=cast.owner,
        accounts=tuple(account.id for account in cast.accounts),
        message_id=shown_message[2],
        route=ROUTE,
        messages=len(seed.fates) + seed.scheduled,
        refused=seed.refused,
    )


async def _first_days(seed: _Seed, smsc_port: int) -> _Cast:
    """The gateway's first week: its operators and route, the two accounts and their people."""
    runtime, clock, end = seed.runtime, seed.clock, seed.end
    start = clock.now
    desk, admin, workspace = runtime.desk, runtime.admin, runtime.workspace

    # The gateway goes up: its first operator, made on the command line, and its SMPP route.
    operator = Person("maryam.karimi@quickotp.example", _password(), Role.OPERATOR)
    console = Console("maryam")
    chief = await desk.create_operator(console, email=operator.email, password=operator.password)
    actor = Actor(chief, OPERATOR_IP)
    url = f"smpp://quickotp:{secrets.token_urlsafe(9)}@127.0.0.1:{smsc_port}?binds=2"
    await runtime.route_desk.add(console, ROUTE, RouteForm(url=url))

    # A shop signs on: its account and credit, its people, patterns and tokens.
    clock.move_to(start + timedelta(hours=2))
    shop = await admin.create_account(name="Nava Shop", sender="10004321")
    await desk.add_credit(actor, shop.id, 500_000, "first payment, invoice 1042")
    owner = Person("owner@navashop.example", _password(), Role.USER, shop.id)
    owner_user = await _join(seed, actor, owner, "en")
    developer = await _join(
        seed, actor, Person("dev@navashop.example", _password(), Role.USER, shop.id), "en"
    )
    await _pattern(seed, actor, owner_user, "کد ورود شما به فروشگاه نوا: %code%", True, "sign-in")
    shipped = await _pattern(
        seed, actor, developer, "سفارش %order% ارسال شد. کد رهگیری: %tracking%", False, "shipping"
    )
    production = await _token(
        seed, owner_user, "production", ["203.0.113.0/24"], ["SendQuickOTP", "VerifyQuickOTP"]
    )
    orders = await _token(seed, developer, "orders", [], ["SendWithPattern", "SendSimple"])
    staging = await workspace.issue_token(
        developer,
        label="staging",
        expires_on=(end + timedelta(days=60)).astimezone(TEHRAN).date(),
        allowed_ips=[],
        allowed_methods=[],
    )

    # A clinic a few days later, with its receptionist.
    clock.move_to(start + timedelta(days=3, hours=4))
    clinic = await admin.create_account(name="کلینیک پردیس", sender="10007788")
    await desk.add_credit(actor, clinic.id, 300_000, "پیش‌پرداخت")
    reception = await _join(
        seed,
        actor,
        Person("reception@pardisclinic.example", _password(), Role.USER, clinic.id),
        "fa",
    )
    await _pattern(seed, actor, reception, "کلینیک پردیس - کد تایید شما: %code%", True, "ورود")
    reminder = await _pattern(
        seed,
        actor,
        reception,
        "%name% عزیز، نوبت شما %day% ساعت %time% است. کلینیک پردیس",
        False,
        "یادآوری نوبت",
    )
    booking = await _token(seed, reception, "booking", [], [])

    # A second operator joins; the shop may send text of its own, from an offers line.
    clock.move_to(start + timedelta(days=6, hours=1))
    await _join(
        seed, actor, Person("reza.moradi@quickotp.example", _password(), Role.OPERATOR), "fa"
    )
    clock.move_to(start + timedelta(days=6, hours=5))
    await desk.set_free_text(actor, shop.id, True)
    await desk.add_line(actor, shop.id, OFFERS_LINE)
    advert = await workspace.create_pattern(
        developer, text="50% off everything this weekend: %link%", is_otp=False, description=""
    )
    clock.move_to(clock.now + timedelta(hours=1))
    await desk.reject_pattern(actor, advert.id, REJECT_REASON)

    accounts = (
        _Account(
            shop.id,
            {"otp": production, "pattern": orders, "text": orders},
            shipped.id,
            lambda rng: [f"NV-{rng.randrange(10_000, 99_999)}", str(rng.randrange(10**11, 10**12))],
            _numbers(seed.rng, 260),
            per_day=(9, 19),
            friday=0.75,
            mix=(0.1, 0.04),
        ),
        _Account(
            clinic.id,
            {"otp": booking, "pattern": booking},
            reminder.id,
            lambda rng: [
                rng.choice(("سارا", "علی", "مریم", "حسین", "نرگس", "امیر")),
                rng.choice(("شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه")),
                f"{rng.randrange(9, 19)}:{rng.choice(('00', '30'))}",
            ],
            _numbers(seed.rng, 90),
            per_day=(3.5, 5.5),
            friday=0.15,
            mix=(0.3, 0.0),
        ),
    )
    return _Cast(
        operator, actor, owner, owner_user, developer, reception, staging.token.id, accounts
    )


def _plan_weeks(seed: _Seed, cast: _Cast) -> None:
    """Four weeks of traffic, and what people did along the way, as events on the timeline."""
    end, first = seed.end, seed.end - timedelta(days=DAYS)
    users, desk, workspace = seed.runtime.users, seed.runtime.desk, seed.runtime.workspace
    actor, accounts = cast.actor, cast.accounts
    developer, owner_user, reception = cast.developer, cast.owner_user, cast.reception
    for account in accounts:
        _plan_traffic(seed, account, first)
    for minutes in (50, 37, 24, 12, 4):  # the routes page counts the last hour
        seed.at(end - timedelta(minutes=minutes), _sender(seed, accounts[0], "otp"))
    shop_id, clinic_id = accounts[0].id, accounts[1].id

    async def top_ups() -> None:
        await desk.add_credit(actor, shop_id, 1_000_000, "invoice 1077")

    async def clinic_limits() -> None:
        await desk.set_limits(actor, clinic_id, {"per_number_hour": "3", "validity_seconds": "300"})

    async def clinic_top_up() -> None:
        await desk.add_credit(actor, clinic_id, 200_000, "واریز ماهانه")

    async def invite_accounting() -> None:  # never accepted: expired a week later
        await desk.invite(
            actor, email="accounting@navashop.example", role=Role.USER, account_id=shop_id
        )

    async def staging_off() -> None:
        await workspace.set_token_active(developer, cast.staging_token, False)

    intern = Person("intern@navashop.example", _password(), Role.USER, shop_id)
    invitation = ""
    joined: User | None = None

    async def invite_intern() -> None:
        nonlocal invitation
        issued = await desk.invite(actor, email=intern.email, role=Role.USER, account_id=shop_id)
        invitation = issued.secret

    async def intern_joins() -> None:
        nonlocal joined
        signed_in = await users.accept_invitation(
            invitation, password=intern.password, account_name="", locale="en"
        )
        joined = signed_in.user

    async def intern_leaves() -> None:
        if joined is None:
            raise RuntimeError("the intern never joined")
        await desk.set_user_active(actor, joined.id, False)

    async def clinic_invites_support() -> None:
        await desk.invite(
            actor, email="support@pardisclinic.example", role=Role.USER, account_id=clinic_id
        )

    async def shop_asks_for_resets() -> None:
        await workspace.create_pattern(
            owner_user,
            text="Nava Shop: your password reset code is %code%",
            is_otp=True,
            description="password resets, English",
        )

    async def clinic_asks_for_results() -> None:
        await workspace.create_pattern(
            reception,
            text="%name% عزیز، جواب آزمایش شما آماده است. کلینیک پردیس",
            is_otp=False,
            description="جواب آزمایش",
        )

    async def invite_operator() -> None:
        await desk.invite(
            actor, email="ali.rahimi@quickotp.example", role=Role.OPERATOR, account_id=None
        )

    async def scheduled_offer() -> None:
        caller = await seed.caller(accounts[0], "text", "SendSimple")
        tomorrow = (end + timedelta(days=1)).astimezone(TEHRAN)
        rows = await seed.messaging.send_simple(
            caller,
            mobiles=",".join(accounts[0].numbers[:3]),
            text=OFFER,
            line=OFFERS_LINE,
            send_at=tomorrow.replace(hour=10, minute=0, second=0).strftime("%Y-%m-%d %H:%M:%S"),
        )
        seed.scheduled += sum(1 for row in rows if row.sent is not None)

    for moment, event in (
        (first + timedelta(days=9, hours=2), clinic_limits),
        (first + timedelta(days=12, hours=3), top_ups),
        (first + timedelta(days=13, hours=6), invite_accounting),
        (first + timedelta(days=16, hours=8), staging_off),
        (first + timedelta(days=20, hours=5), clinic_top_up),
        (end - timedelta(days=3, hours=5), invite_intern),
        (end - timedelta(days=3, hours=2), intern_joins),
        (end - timedelta(days=1, hours=23), intern_leaves),
        (end - timedelta(hours=20), clinic_invites_support),
        (end - timedelta(hours=11), shop_asks_for_resets),
        (end - timedelta(hours=4), clinic_asks_for_results),
        (end - timedelta(hours=2), invite_operator),
        (end - timedelta(minutes=45), scheduled_offer),
    ):
        seed.at(moment, event)


def _password() -> str:
    return secrets.token_urlsafe(15)


async def _join(seed: _Seed, actor: Actor, person: Person, locale: str) -> User:
    """`person` invited by the operator, joining three hours later."""
    issued = await seed.runtime.desk.invite(
        actor, email=person.email, role=person.role, account_id=person.account_id
    )
    seed.clock.move_to(seed.clock.now + timedelta(hours=3))
    joined = await seed.runtime.users.accept_invitation(
        issued.secret, password=person.password, account_name="", locale=locale
    )
    return joined.user


async def _pattern(
    seed: _Seed, actor: Actor, user: User, text: str, otp: bool, description: str
) -> Pattern:
    """A pattern the user writes and the operator approves within the hour."""
    pattern = await seed.runtime.workspace.create_pattern(
        user, text=text, is_otp=otp, description=description
    )
    seed.clock.move_to(seed.clock.now + timedelta(minutes=40))
    return await seed.runtime.desk.approve_pattern(actor, pattern.id)


async def _token(
    seed: _Seed, user: User, label: str, networks: list[str], methods: list[str]
) -> str:
    seed.clock.move_to(seed.clock.now + timedelta(minutes=15))
    issued = await seed.runtime.workspace.issue_token(
        user, label=label, expires_on=None, allowed_ips=networks, allowed_methods=methods
    )
    return issued.secret


def _numbers(rng: random.Random, count: int) -> list[str]:
    """`count` different Iranian mobile numbers, as people type them."""
    found: dict[str, None] = {}
    while len(found) < count:
        found.setdefault(f"0{rng.choice(PREFIXES)}{rng.randrange(10**7):07d}", None)
    return list(found)


def _plan_traffic(seed: _Seed, account: _Account, first: datetime) -> None:
    """The account's sends of each Tehran day from `first` on, busier week by week."""
    rng = seed.rng
    day = first.astimezone(TEHRAN).date()
    last = seed.end.astimezone(TEHRAN).date()
    total = (last - day).days or 1
    for index in range((last - day).days + 1):
        date = day + timedelta(days=index)
        low, high = account.per_day
        rate = (low + (high - low) * index / total) * (account.friday if date.weekday() == 4 else 1)
        for _ in range(round(rate * rng.uniform(0.8, 1.2))):
            hour = rng.choices(range(24), HOURS)[0]
            local = datetime(
                date.year,
                date.month,
                date.day,
                hour,
                rng.randrange(60),
                rng.randrange(60),
                tzinfo=TEHRAN,
            )
            moment = local.astimezone(UTC)
            if first <= moment <= seed.end - timedelta(minutes=60):
                kind = rng.choices(
                    ("pattern", "text", "otp"),
                    (account.mix[0], account.mix[1], 1 - sum(account.mix)),
                )[0]
                seed.at(moment, _sender(seed, account, kind))


def _sender(seed: _Seed, account: _Account, kind: str) -> Callable[[], Awaitable[None]]:
    """One send of `kind` (otp, pattern, text) by the account, and its fate planned."""
    rng = seed.rng
    number = rng.choice(account.numbers)

    async def send() -> None:
        gateway = seed.runtime.gateway
        try:
            if kind == "otp":
                caller = await seed.caller(account, "otp", "SendQuickOTP")
                sent = await gateway.send_quick_otp(
                    caller, mobile=number, code_length=rng.choice((5, 6))
                )
            elif kind == "pattern":
                caller = await seed.caller(account, "pattern", "SendWithPattern")
                sent = await seed.messaging.send_with_pattern(
                    caller,
                    mobile=number,
                    pattern_id=account.pattern,
                    values=account.pattern_values(rng),
                )
            else:
                caller = await seed.caller(account, "text", "SendSimple")
                rows = await seed.messaging.send_simple(
                    caller, mobiles=number, text=OFFER, line=OFFERS_LINE, send_at=None
                )
                if rows[0].sent is None:
                    raise rows[0].error or AssertionError(rows[0])
                sent = rows[0].sent
        except GatewayError:
            seed.refused += 1
            return
        seed.fates[sent.message_id] = (_fate(rng, otp=kind == "otp"), sent, account)
        seed.at(seed.clock.now + timedelta(seconds=rng.uniform(0.3, 2.5)), seed.submit)

    return send


def _fate(rng: random.Random, *, otp: bool) -> Fate:
    roll = rng.random()
    if roll < 0.03:
        return Fate(None, failed=True)
    if roll < 0.07:
        return Fate(DeliveryState.UNDELIVERED)
    if roll < 0.085:
        return Fate(DeliveryState.EXPIRED)
    if roll < 0.11:
        return Fate(None)  # the upstream took it and never reported
    if not otp:
        return Fate(DeliveryState.DELIVERED)
    verify = rng.choices(
        ("right", "wrong-then-right", "locked-out", "none"), (0.80, 0.06, 0.02, 0.12)
    )[0]
    return Fate(DeliveryState.DELIVERED, verify=verify)
