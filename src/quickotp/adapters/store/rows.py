"""
Table rows as the records the store hands out (`quickotp.domain.models`): one mapper a
table, shared by every module of the store.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Row

from quickotp.domain import otp

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from quickotp.domain.models import (
    Account,
    FailureKind,
    Message,
    MessageStatus,
    Pattern,
    PatternState,
    Token,
    Verification,
    VerificationStatus,
)

R = TypeVar("R", bound="DataclassInstance")


def record(kind: type[R], row: Row[Any], /, **converted: Any) -> R:
    """
    A `kind` from the row's columns named as its fields; `converted` holds the fields whose
    column is not the field's value as it stands (an enum's text, a flag stored as 0/1).
    """
    columns = row._mapping
    given = {f.name: columns[f.name] for f in fields(kind) if f.name in columns}
    return kind(**(given | converted))


def verification_from(row: Row[Any]) -> Verification:
    return Verification(
        id=row.id,
        account_id=row.account_id,
        message_id=row.message_id,
        mobile=row.mobile,
        status=VerificationStatus(row.status),
        attempts_left=row.attempts_left,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sandbox=bool(row.sandbox),
        metadata=row._mapping["metadata"],
        code_digest=bytes(row.code_digest),
        code_sealed=None if row.code_sealed is None else bytes(row.code_sealed),
    )


def account_from(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        credit=row.credit,
        unlimited=row.unlimited,
        sender=row.sender,
        active=row.active,
        created_at=row.created_at,
        free_text=bool(row.free_text),
        overdraft=int(row.overdraft),
    )


ACCOUNT_FIELDS = (
    "id",
    "name",
    "credit",
    "unlimited",
    "sender",
    "active",
    "created_at",
    "free_text",
    "overdraft",
)


def token_from(row: Row[Any]) -> Token:
    return Token(
        id=row.id,
        account_id=row.account_id,
        label=row.label,
        active=row.active,
        expires_at=row.expires_at,
        allowed_ips=tuple(row.allowed_ips.split()),
        allowed_methods=tuple(row.allowed_methods.split()),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        prefix=row.prefix,
        last_address=row.last_address,
    )


def pattern_from(row: Row[Any]) -> Pattern:
    return Pattern(
        id=row.id,
        account_id=row.account_id,
        text=row.text,
        is_otp=row.is_otp,
        number_patterns=tuple(row.number_patterns.split()),
        state=PatternState(row.state),
        reason=row.reason,
        description=row.description,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


def masked_message(row: Row[Any]) -> Message:
    """
    The message of a row of `messages`, its code masked in the text: a final message's text
    was masked when it became final; one still waiting for an upstream keeps its code beside
    the text until then, and it is masked here.
    """
    message = message_from(row)
    return replace(message, text=otp.mask(message.text, row.code)) if row.code else message


def message_from(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        account_id=row.account_id,
        mobile=row.mobile,
        sender=row.sender,
        text=row.text,
        encoding=row.encoding,
        parts=row.parts,
        cost=row.cost,
        status=MessageStatus(row.status),
        attempts=row.attempts,
        possible_duplicate=row.possible_duplicate,
        expires_at=row.expires_at,
        created_at=row.created_at,
        submitted_at=row.submitted_at,
        reported_at=row.reported_at,
        transport=row.transport,
        provider_message_id=row.provider_message_id,
        error=row.error,
        not_before=row.not_before,
        backup_sender=row.backup_sender,
        failure_kind=None if row.failure_kind is None else FailureKind(row.failure_kind),
    )
