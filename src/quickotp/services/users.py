"""
The panel's people: sign-up, sign-in (rate limited), sessions, passwords, invitations and
operators. Passwords are kept as argon2id hashes; session and invitation secrets as keyed
hashes, so a copy of the database lets no one in.

I/O only through the IdentityStore port; time and randomness come from the composition root.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from quickotp.domain.errors import (
    AccountNameInvalid,
    EmailInvalid,
    InvitationInvalid,
    PasswordRejected,
    SignInFailed,
    SignInThrottled,
    SignUpClosed,
    UserDisabled,
    WrongPassword,
)
from quickotp.domain.models import Invitation, Role, User
from quickotp.ports.people import IdentityStore

log = logging.getLogger(__name__)

LOCALES = ("fa", "en")
MIN_PASSWORD = 10
MIN_DISTINCT = 5  # different characters a password holds at least
MAX_PASSWORD = 200  # argon2 takes any length; this bounds the work one request can ask for
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
SECRET_BYTES = 32


@dataclass(frozen=True)
class UsersConfig:
    open_signup: bool = False
    session_lifetime: timedelta = timedelta(hours=12)
    invitation_lifetime: timedelta = timedelta(days=7)
    failures_per_email: int = 5  # failed sign-ins for one email inside `failure_window`
    failures_per_ip: int = 20  # failed sign-ins from one address inside `failure_window`
    failure_window: timedelta = timedelta(minutes=15)
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


@dataclass
class Users:
    store: IdentityStore
    hasher: PasswordHasher
    key: bytes  # keys session and invitation digests
    clock: Callable[[], datetime]
    token_urlsafe: Callable[[int], str]
    config: UsersConfig

    _decoy: str | None = field(default=None, init=False, repr=False)

    def _decoy_hash(self) -> str:
        """A hash to check against when no user has the email, so a miss costs what a hit does."""
        if self._decoy is None or self.hasher.check_needs_rehash(self._decoy):
            self._decoy = self.hasher.hash("no such user, but the same work")
        return self._decoy

    # signing up and in -------------------------------------------------------------------

    async def sign_up(
        self, *, email: str, password: str, account_name: str, locale: str
    ) -> SignedIn:
        """A new account with its first user, signed in. SignUpClosed when sign-up is off."""
        if not self.config.open_signup:
            raise SignUpClosed("open sign-up is off: ask the operator for an invitation")
        user = await self.store.create_user(
            email=checked_email(email),
            password_hash=self.hasher.hash(checked_password(password)),
            role=Role.USER,
            account_id=None,
            new_account=checked_account_name(account_name),
            sender=self.config.sender,
            locale=checked_locale(locale),
            now=self.clock(),
        )
        log.info("user %d signed up with account %s", user.id, user.account_id)
        return await self._start_session(user)

    async def sign_in(self, *, email: str, password: str, ip: str | None) -> SignedIn:
        """
        A new session for the user with this email and password.

        SignInThrottled after too many failures for the email or from the address inside
        the window, before the password is even looked at; SignInFailed for a wrong email
        or password, alike; UserDisabled only once the password was right.
        """
        address = email.strip().lower()
        now = self.clock()
        by_email, by_ip, oldest = await self.store.sign_in_failures(
            address, ip, now - self.config.failure_window
        )
        if by_email >= self.config.failures_per_email or by_ip >= self.config.failures_per_ip:
            wait = (oldest or now) + self.config.failure_window - now
            log.warning(
                "sign-in throttled (%d for the email, %d from the address)", by_email, by_ip
            )
            raise SignInThrottled(
                "too many failed sign-ins: try again later",
                retry_after=max(1, int(wait.total_seconds())),
            )
        found = await self.store.user_by_email(address)
        if found is None or len(password) > MAX_PASSWORD:
            self._verify(self._decoy_hash(), password)
            await self.store.record_sign_in_failure(address, ip, now)
            raise SignInFailed("wrong email or password")
        user, password_hash = found
        if not self._verify(password_hash, password):
            await self.store.record_sign_in_failure(address, ip, now)
            log.info("failed sign-in for user %d", user.id)
            raise SignInFailed("wrong email or password")
        if not user.active:
            raise UserDisabled(f"user {user.id} is disabled")
        if self.hasher.check_needs_rehash(password_hash):
            await self.store.rehash_password(user.id, self.hasher.hash(password))
        await self.store.clear_sign_in_failures(address, now - self.config.failure_window)
        log.info("user %d signed in", user.id)
        return await self._start_session(user)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

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

    async def change_password(self, user: User, *, current: str, new: str, session: str) -> None:
        """Change a password; every other session of the user ends."""
        found = await self.store.user_by_email(user.email)
        if found is None or not self._verify(found[1], current[:MAX_PASSWORD]):
            raise WrongPassword("the current password is wrong")
        await self.store.set_password_hash(
            user.id,
            self.hasher.hash(checked_password(new)),
            keep_session=self._digest("session", session),
        )
        log.info("user %d changed their password", user.id)

    async def set_locale(self, user: User, locale: str) -> None:
        await self.store.set_locale(user.id, checked_locale(locale))

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
            password_hash=self.hasher.hash(checked_password(password)),
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
            password_hash=self.hasher.hash(checked_password(password)),
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
                password_hash=self.hasher.hash(checked_password(password)),
                role=role,
                account_id=account_id,
                new_account=None,
                sender=self.config.sender,
                locale=LOCALES[0],
                now=self.clock(),
            )
        user = found[0]
        await self.store.set_password_hash(
            user.id, self.hasher.hash(checked_password(password)), keep_session=None
        )
        return user

    def _digest(self, purpose: str, secret: str) -> bytes:
        message = f"{purpose}:{secret}".encode("utf-8", "surrogateescape")
        return hmac.digest(self.key, message, hashlib.sha256)


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
