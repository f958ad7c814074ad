"""
The panel's people: sign-up, sign-in (rate limited), sessions, passwords, invitations and
operators. Passwords are kept as argon2id hashes; session and invitation secrets as keyed
hashes, so a copy of the database lets no one in. Every hash and check runs on a
PasswordPool's worker process, never on the event loop (support/password_pool.py says why).

Each attempt on a known email goes into its user's sign-in history (time, address, user
agent, outcome), which keeps the newest HISTORY_KEPT and nothing older than HISTORY_DAYS.
A user with two-step sign-in on (services/two_factor.py) gets a session only after the
second step: a right password makes a short-lived sign-in waiting for its code, whose
secret the browser holds; the code (or a recovery code) is limited like the password, under
the user ("code:") and the address, with the same waits. Turning two-step sign-in off, or
making new recovery codes, takes the password.

An operator's password reset is a one-time link: making it ends the user's sessions and
replaces their password with one no one knows, until the link sets a new one.

Failed sign-ins are limited under three keys: an email from one address (a few tries, then
waits that double), one address over every email (more tries, the same waits), and an
email from addresses it never signed in from (its waits stay short: it slows a guesser
spread over many addresses, and never locks the owner out, who signs in from an address
they used before as if nothing happened). An IPv6 address counts as its /64, which one
client holds whole. Each attempt is counted before its password is checked, in one
transaction with the decision, so a burst sent at once cannot all pass on one count; a
right password then takes its count back.

I/O only through the IdentityStore port; time and randomness come from the composition root.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quickotp.domain import keys
from quickotp.domain.addresses import client_key
from quickotp.domain.credentials import (
    HISTORY_DAYS,
    HISTORY_KEPT,
    SignInEvent,
    SignInOutcome,
    shown_agent,
)
from quickotp.domain.errors import (
    AccountNameInvalid,
    EmailInvalid,
    InvitationInvalid,
    PasswordHashingBusy,
    PasswordRejected,
    ResetLinkInvalid,
    SecondFactorFailed,
    SecondStepExpired,
    SignInFailed,
    SignInThrottled,
    SignUpClosed,
    UserDisabled,
    WrongPassword,
)
from quickotp.domain.models import Invitation, Role, SignInCount, SignInRule, User
from quickotp.ports.credentials import CredentialStore
from quickotp.ports.people import IdentityStore
from quickotp.services.two_factor import TwoFactor, random_bytes
from quickotp.support.password_pool import PasswordPool

log = logging.getLogger(__name__)

LOCALES = ("fa", "en")
MIN_PASSWORD = 10
MIN_DISTINCT = 5  # different characters a password holds at least
MAX_PASSWORD = 200  # argon2 takes any length; this bounds the work one request can ask for
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
SECRET_BYTES = 32
SWEEP_EVERY = 100  # sign-in attempts between two sweeps of idle sign-in counts
DRAFT_LIFETIME = timedelta(hours=1)  # long enough to sign in again, short for a secret
_NONCE = bytes(12)  # each draft's key seals one message only, so a fixed nonce is safe


@dataclass(frozen=True)
class UsersConfig:
    open_signup: bool = False
    session_lifetime: timedelta = timedelta(hours=12)
    invitation_lifetime: timedelta = timedelta(days=7)
    reset_lifetime: timedelta = timedelta(hours=24)  # how long a password reset link works
    second_step_lifetime: timedelta = timedelta(minutes=5)  # to type the two-step code in
    failures_per_pair: int = 5  # for one email from one address, before the first wait
    failures_per_address: int = 20  # from one address, over every email
    failures_per_email: int = 20  # for one email, from addresses it never signed in from
    failure_window: timedelta = timedelta(minutes=15)  # idle this long, a count starts again
    first_lock: timedelta = timedelta(minutes=1)  # doubled for each failure past the limit
    longest_lock: timedelta = timedelta(minutes=15)
    longest_email_lock: timedelta = timedelta(minutes=1)  # an email's own wait: it only slows
    known_address: timedelta = timedelta(days=90)  # how long a sign-in's address stays known
    sender: str = "10001"  # the sender line a new account gets


@dataclass(frozen=True)
class SignedIn:
    """A new session: `secret` goes to the browser (once, in a cookie) and is never stored."""

    user: User
    secret: str


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation: `secret` is the link's last part, shown once to the operator."""

    invitation: Invitation
    secret: str


@dataclass(frozen=True)
class SecondStep:
    """
    A right password of a user with two-step sign-in: `secret` (for the browser, once, in a
    short-lived cookie) names the sign-in waiting for its code.
    """

    user: User
    secret: str = field(repr=False)


@dataclass(frozen=True)
class IssuedReset:
    """A new password reset link: `secret` is the link's last part, shown once."""

    user: User
    secret: str


@dataclass
class Users:
    store: IdentityStore
    hasher: PasswordHasher
    key: bytes  # keys session and invitation digests
    clock: Callable[[], datetime]
    token_urlsafe: Callable[[int], str]
    config: UsersConfig
    credentials: CredentialStore
    pool: PasswordPool = field(default_factory=PasswordPool)

    two_factor: TwoFactor = field(init=False, repr=False)
    _decoy: str | None = field(default=None, init=False, repr=False)
    _attempts: int = field(default=0, init=False, repr=False)  # sign-ins, for SWEEP_EVERY

    def __post_init__(self) -> None:
        self.two_factor = TwoFactor(
            self.credentials,
            seal_key=keys.derive(self.key, "totp"),
            digest=lambda code: self._digest("recovery", code),
            clock=self.clock,
            random=random_bytes(self.token_urlsafe),
        )

    async def _decoy_hash(self) -> str:
        """A hash to check against when no user has the email, so a miss costs what a hit does."""
        if self._decoy is None or self.hasher.check_needs_rehash(self._decoy):
            self._decoy = await self._hash("no such user, but the same work")
        return self._decoy

    async def _hash(self, password: str) -> str:
        """The argon2id hash of `password`, made on the pool; PasswordHashingBusy when full."""
        return await self.pool.run(self.hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches, checked on the pool; PasswordHashingBusy when full."""
        return await self.pool.run(_verify, self.hasher, password_hash, password)

    # signing up and in -------------------------------------------------------------------

    async def sign_up(
        self, *, email: str, password: str, account_name: str, locale: str
    ) -> SignedIn:
        """A new account with its first user, signed in. SignUpClosed when sign-up is off."""
        if not self.config.open_signup:
            raise SignUpClosed("open sign-up is off: ask the operator for an invitation")
        user = await self.store.create_user(
            email=checked_email(email),
            password_hash=await self._hash(checked_password(password)),
            role=Role.USER,
            account_id=None,
            new_account=checked_account_name(account_name),
            sender=self.config.sender,
            locale=checked_locale(locale),
            now=self.clock(),
        )
        log.info("user %d signed up with account %s", user.id, user.account_id)
        return await self._start_session(user)

    async def sign_in(
        self, *, email: str, password: str, ip: str | None, user_agent: str = ""
    ) -> SignedIn | SecondStep:
        """
        A new session for the user with this email and password.

        SignInThrottled while a limit on failures is locked, before the password is even
        looked at; PasswordHashingBusy when the password worker's queue is full; SignInFailed
        for a wrong email or password, alike; UserDisabled only once the password was right.
        An attempt the limits let through on a known email goes into its user's history.
        With two-step sign-in on, a right password gives a SecondStep, not yet a session.
        """
        if self.pool.full:  # refused at once, without counting or writing anything
            raise PasswordHashingBusy("every password check is busy", retry_after=1)
        address = client_key(ip)
        email = email.strip().lower()
        now = self.clock()
        self._attempts += 1
        if self._attempts % SWEEP_EVERY == 0:
            await self.store.sweep_sign_in_limits(now=now, window=self.config.failure_window)
        counted = await self.store.count_sign_in(
            self._rules(email, address),
            email=email,
            address=address,
            known_since=now - self.config.known_address,
            now=now,
            window=self.config.failure_window,
        )
        if counted.wait:
            log.info("sign-in throttled for %d s", counted.wait)
            raise SignInThrottled(
                "too many failed sign-ins: try again later", retry_after=int(counted.wait + 0.999)
            )
        try:
            user, matched = await self._check(email, password)
        except PasswordHashingBusy:
            await self.store.uncount_sign_in(counted.keys)
            raise
        if user is None or not matched:
            if user is not None:
                await self._remember(user, ip, user_agent, SignInOutcome.WRONG_PASSWORD)
            raise SignInFailed("wrong email or password")
        if not user.active:
            await self._remember(user, ip, user_agent, SignInOutcome.DISABLED)
            raise UserDisabled(f"user {user.id} is disabled")
        await self._settle(email, address, counted)
        if await self.two_factor.enabled(user.id):
            return await self._second_step(user)
        await self._remember(user, ip, user_agent, SignInOutcome.SIGNED_IN)
        log.info("user %d signed in", user.id)
        return await self._start_session(user)

    async def _second_step(self, user: User) -> SecondStep:
        secret = self.token_urlsafe(SECRET_BYTES)
        now = self.clock()
        await self.credentials.create_challenge(
            digest=self._digest("challenge", secret),
            user_id=user.id,
            now=now,
            expires_at=now + self.config.second_step_lifetime,
        )
        log.info("user %d passed the password step", user.id)
        return SecondStep(user, secret)

    async def finish_sign_in(
        self, secret: str, code: str, *, ip: str | None, user_agent: str = ""
    ) -> SignedIn:
        """
        The second step: a session for the sign-in waiting behind `secret` when `code` is
        the user's TOTP code or an unused recovery code. SecondStepExpired when nothing
        waits (or it waited too long); SignInThrottled while the code's limits are locked;
        SecondFactorFailed for a wrong code (the sign-in still waits, until it expires).
        """
        digest = self._digest("challenge", secret[:100])
        now = self.clock()
        user_id = await self.credentials.challenge_user(digest, now) if secret else None
        if user_id is None:
            raise SecondStepExpired("sign in again: the password step is unknown or too old")
        user = await self.store.get_user(user_id)
        if not user.active:
            raise UserDisabled(f"user {user.id} is disabled")
        address = client_key(ip)
        key = f"code:{user.id}"
        rules = [r for r in self._rules(user.email, address) if r.key.startswith("address:")]
        config = self.config
        rules.append(
            SignInRule(key, config.failures_per_pair, config.first_lock, config.longest_lock)
        )
        counted = await self.store.count_sign_in(
            rules,
            email=user.email,
            address=address,
            known_since=now - config.known_address,
            now=now,
            window=config.failure_window,
        )
        if counted.wait:
            log.info("two-step code throttled for %d s", counted.wait)
            raise SignInThrottled(
                "too many wrong codes: try again later", retry_after=int(counted.wait + 0.999)
            )
        if not await self.two_factor.check(user.id, code[:100]):
            await self._remember(user, ip, user_agent, SignInOutcome.WRONG_CODE)
            raise SecondFactorFailed("wrong two-step code")
        if not await self.credentials.end_challenge(digest):  # a twin request finished it
            raise SecondStepExpired("this sign-in was finished already")
        await self.store.signed_in_from(
            email=user.email,
            address=address,
            cleared=key,
            uncounted=counted.keys,
            now=now,
            known_since=now - config.known_address,
        )
        await self._remember(user, ip, user_agent, SignInOutcome.SIGNED_IN)
        log.info("user %d signed in with two steps", user.id)
        return await self._start_session(user)

    async def _remember(
        self, user: User, ip: str | None, user_agent: str, outcome: SignInOutcome
    ) -> None:
        """One attempt into the user's sign-in history, which stays bounded."""
        now = self.clock()
        await self.credentials.record_sign_in(
            user.id,
            at=now,
            address=ip,
            user_agent=shown_agent(user_agent),
            outcome=outcome,
            keep=HISTORY_KEPT,
            since=now - timedelta(days=HISTORY_DAYS),
        )

    async def history(self, user: User) -> list[SignInEvent]:
        """The user's own sign-in attempts, newest first."""
        return await self.credentials.sign_ins(user.id, limit=HISTORY_KEPT)

    def _rules(self, email: str, address: str) -> list[SignInRule]:
        """The limits an attempt for `email` from `address` counts under."""
        config = self.config
        rules = [
            SignInRule(
                f"pair:{address} {email}",
                config.failures_per_pair,
                config.first_lock,
                config.longest_lock,
            ),
            SignInRule(
                f"email:{email}",
                config.failures_per_email,
                config.first_lock,
                config.longest_email_lock,
                unknown_only=True,
            ),
        ]
        if address:
            rules.insert(
                0,
                SignInRule(
                    f"address:{address}",
                    config.failures_per_address,
                    config.first_lock,
                    config.longest_lock,
                ),
            )
        return rules

    async def _check(self, email: str, password: str) -> tuple[User | None, bool]:
        """
        The user with this email (None: there is none, found after the same work) and
        whether the password is theirs.
        """
        found = await self.store.user_by_email(email)
        if found is None:
            await self._verify(await self._decoy_hash(), password)
            return None, False
        user, password_hash = found
        if len(password) > MAX_PASSWORD:
            await self._verify(await self._decoy_hash(), password)
            return user, False
        if not await self._verify(password_hash, password):
            log.info("failed sign-in for user %d", user.id)
            return user, False
        if self.hasher.check_needs_rehash(password_hash):
            await self.store.rehash_password(user.id, await self._hash(password))
        return user, True

    async def _settle(self, email: str, address: str, counted: SignInCount) -> None:
        """A right password: its pair starts again, its other counts are taken back."""
        now = self.clock()
        await self.store.signed_in_from(
            email=email,
            address=address,
            cleared=f"pair:{address} {email}",
            uncounted=counted.keys,
            now=now,
            known_since=now - self.config.known_address,
        )

    async def _start_session(self, user: User) -> SignedIn:
        secret = self.token_urlsafe(SECRET_BYTES)
        now = self.clock()
        await self.store.create_session(
            digest=self._digest("session", secret),
            user_id=user.id,
            now=now,
            expires_at=now + self.config.session_lifetime,
        )
        return SignedIn(user, secret)

    # sessions ----------------------------------------------------------------------------

    async def session_user(self, secret: str) -> User | None:
        """The signed-in, active user of a session cookie's value, or None."""
        if not secret or len(secret) > 100:
            return None
        return await self.store.session_user(self._digest("session", secret), self.clock())

    async def sign_out(self, secret: str) -> None:
        await self.store.delete_session(self._digest("session", secret))

    # drafts: what a page keeps for a moment between two requests -------------------------

    async def keep_draft(self, owner: str, values: Mapping[str, Any]) -> str:
        """
        Keep `values` (JSON) for `owner` (a user, a browser) for DRAFT_LIFETIME; the answer
        is the draft's id, which only the owner's browser gets. The row holds a keyed hash
        of the id, and the values sealed (AES-GCM) under a key derived from the id, so the
        database alone opens no draft.
        """
        key = self.token_urlsafe(SECRET_BYTES)
        now = self.clock()
        await self.store.keep_draft(
            digest=self._digest("draft", key),
            owner=self._digest("draft-owner", owner),
            sealed=AESGCM(self._digest("draft-seal", key)).encrypt(
                _NONCE, json.dumps(dict(values)).encode(), None
            ),
            now=now,
            expires_at=now + DRAFT_LIFETIME,
        )
        return key

    async def take_draft(self, key: str, owner: str) -> dict[str, Any] | None:
        """The values kept under `key` for `owner`, once; None if gone, expired or another's."""
        if not key or len(key) > 100:
            return None
        sealed = await self.store.take_draft(
            digest=self._digest("draft", key),
            owner=self._digest("draft-owner", owner),
            now=self.clock(),
        )
        if sealed is None:
            return None
        try:
            opened = AESGCM(self._digest("draft-seal", key)).decrypt(_NONCE, sealed, None)
        except InvalidTag:
            return None
        values = json.loads(opened)
        return values if isinstance(values, dict) else None

    async def change_password(self, user: User, *, current: str, new: str, session: str) -> None:
        """Change a password; every other session of the user ends."""
        await self._confirm_password(user, current)
        await self.store.set_password_hash(
            user.id,
            await self._hash(checked_password(new)),
            keep_session=self._digest("session", session),
        )
        log.info("user %d changed their password", user.id)

    async def _confirm_password(self, user: User, password: str) -> None:
        """WrongPassword unless `password` is the user's own (a change that needs it)."""
        found = await self.store.user_by_email(user.email)
        if found is None or not await self._verify(found[1], password[:MAX_PASSWORD]):
            raise WrongPassword("the current password is wrong")

    async def turn_off_two_factor(self, user: User, *, password: str) -> None:
        """Two-step sign-in off for oneself: it takes the password."""
        await self._confirm_password(user, password)
        await self.two_factor.turn_off(user.id)

    async def new_recovery_codes(self, user: User, *, password: str) -> list[str]:
        """Ten new recovery codes in place of the old ones (shown once): it takes the password."""
        await self._confirm_password(user, password)
        return await self.two_factor.new_recovery_codes(user)

    async def set_locale(self, user: User, locale: str) -> None:
        await self.store.set_locale(user.id, checked_locale(locale))

    # password resets --------------------------------------------------------------------

    async def issue_reset(self, user_id: int, *, by: int | None) -> IssuedReset:
        """
        A one-time reset link's secret for the user, shown once to the operator who asked.
        At once the user's sessions end and their password stops working (it becomes the
        hash of a secret no one keeps) until the link sets a new one; earlier links are void.
        """
        user = await self.store.get_user(user_id)
        secret = self.token_urlsafe(SECRET_BYTES)
        unusable = await self._hash(self.token_urlsafe(SECRET_BYTES))
        now = self.clock()
        await self.credentials.create_reset(
            digest=self._digest("reset", secret),
            user_id=user_id,
            created_by=by,
            now=now,
            expires_at=now + self.config.reset_lifetime,
            unusable_hash=unusable,
        )
        log.info("password reset link made for user %d", user_id)
        return IssuedReset(user, secret)

    async def reset_user(self, secret: str) -> User:
        """The user a live reset link is for; ResetLinkInvalid if it is unknown, used, expired."""
        found = None
        if secret and len(secret) <= 100:
            found = await self.credentials.reset_user(self._digest("reset", secret), self.clock())
        if found is None:
            raise ResetLinkInvalid("this reset link is unknown, used or expired")
        return await self.store.get_user(found)

    async def use_reset(self, secret: str, password: str) -> User:
        """Set the new password through a reset link (once); the user signs in with it next."""
        user = await self.reset_user(secret)
        user_id = await self.credentials.use_reset(
            self._digest("reset", secret),
            password_hash=await self._hash(checked_password(password)),
            now=self.clock(),
        )
        log.info("user %d set a new password through a reset link", user_id)
        return user

    # invitations and operators ----------------------------------------------------------

    async def invite(
        self, *, email: str, role: Role, account_id: int | None, invited_by: int | None
    ) -> IssuedInvitation:
        """An invitation link secret for `email`; accounts apply only to USER invitations."""
        secret = self.token_urlsafe(SECRET_BYTES)
        now = self.clock()
        invitation = await self.store.create_invitation(
            digest=self._digest("invitation", secret),
            email=checked_email(email),
            role=role,
            account_id=account_id if role is Role.USER else None,
            created_by=invited_by,
            now=now,
            expires_at=now + self.config.invitation_lifetime,
        )
        log.info("invitation %d created", invitation.id)
        return IssuedInvitation(invitation, secret)

    async def invitation(self, secret: str) -> Invitation:
        """The live invitation behind a link's secret; InvitationInvalid if there is none."""
        found = None
        if secret and len(secret) <= 100:
            found = await self.store.find_invitation(
                self._digest("invitation", secret), self.clock()
            )
        if found is None:
            raise InvitationInvalid("this invitation is unknown, used or expired")
        return found

    async def accept_invitation(
        self, secret: str, *, password: str, account_name: str, locale: str
    ) -> SignedIn:
        """Become the invited user, signed in; the invitation is used up."""
        invitation = await self.invitation(secret)
        needs_account = invitation.role is Role.USER and invitation.account_id is None
        user = await self.store.accept_invitation(
            digest=self._digest("invitation", secret),
            password_hash=await self._hash(checked_password(password)),
            new_account=checked_account_name(account_name) if needs_account else None,
            sender=self.config.sender,
            locale=checked_locale(locale),
            now=self.clock(),
        )
        log.info("user %d joined by invitation %d", user.id, invitation.id)
        return await self._start_session(user)

    async def create_operator(self, *, email: str, password: str) -> User:
        """A new operator (the first one comes from the command line)."""
        user = await self.store.create_user(
            email=checked_email(email),
            password_hash=await self._hash(checked_password(password)),
            role=Role.OPERATOR,
            account_id=None,
            new_account=None,
            sender=self.config.sender,
            locale=LOCALES[0],
            now=self.clock(),
        )
        log.info("operator %d created", user.id)
        return user

    async def ensure_user(
        self, *, email: str, password: str, role: Role, account_id: int | None
    ) -> User:
        """The user with this email, made if missing, with this password from now on (dev)."""
        found = await self.store.user_by_email(checked_email(email))
        if found is None:
            return await self.store.create_user(
                email=checked_email(email),
                password_hash=await self._hash(checked_password(password)),
                role=role,
                account_id=account_id,
                new_account=None,
                sender=self.config.sender,
                locale=LOCALES[0],
                now=self.clock(),
            )
        user = found[0]
        await self.store.set_password_hash(
            user.id, await self._hash(checked_password(password)), keep_session=None
        )
        return user

    def _digest(self, purpose: str, secret: str) -> bytes:
        message = f"{purpose}:{secret}".encode("utf-8", "surrogateescape")
        return hmac.digest(self.key, message, hashlib.sha256)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def checked_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise EmailInvalid("not an email address")
    return email


def checked_password(raw: str) -> str:
    """
    `raw` as a new password, or PasswordRejected: MIN_PASSWORD to MAX_PASSWORD characters,
    at least MIN_DISTINCT different ones (so no run of spaces or of one key), and not one of
    the most common passwords in any case (common_passwords.txt).
    """
    if not MIN_PASSWORD <= len(raw) <= MAX_PASSWORD:
        raise PasswordRejected(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if raw.isspace() or len(set(raw)) < MIN_DISTINCT:
        raise PasswordRejected(f"a password has at least {MIN_DISTINCT} different characters")
    if raw.lower() in common_passwords():
        raise PasswordRejected("this password is one of the most common ones")
    return raw


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lowercase), read once."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def checked_account_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not 2 <= len(name) <= 100:
        raise AccountNameInvalid("an account name is 2 to 100 characters")
    return name


def checked_locale(raw: str) -> str:
    return raw if raw in LOCALES else LOCALES[0]
