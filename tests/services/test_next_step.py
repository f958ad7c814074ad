"""The dispatcher's pure decision after a failed attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quickotp.domain.errors import (
    DeliveryError,
    DeliveryUncertain,
    LineRefused,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.models import Claimed, FailureKind, GiveUp, Message, MessageStatus, Retry
from quickotp.services.dispatcher import DispatchConfig, next_step

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CONFIG = DispatchConfig(max_attempts=4, first_delay=timedelta(seconds=2))


def claimed(attempts: int, *, ttl: timedelta = timedelta(minutes=2)) -> Claimed:
    message = Message(
        id=7,
        account_id=1,
        mobile="989120000000",
        sender="1000",
        text="code 1234",
        encoding="gsm7",
        parts=1,
        cost=1000,
        status=MessageStatus.SENDING,
        attempts=attempts,
        possible_duplicate=False,
        expires_at=NOW + ttl,
        created_at=NOW,
        submitted_at=None,
        reported_at=None,
        transport=None,
        provider_message_id=None,
        error=None,
    )
    return Claimed(message, "1234")


def test_transient_errors_back_off_exponentially() -> None:
    """Attempt n waits first_delay * 2**(n-1)."""
    steps = [
        next_step(claimed(n), TransportUnavailable("down"), now=NOW, config=CONFIG)
        for n in (1, 2, 3)
    ]

    assert [s.at - NOW for s in steps if isinstance(s, Retry)] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
    ]


def test_a_rejection_is_final() -> None:
    """A permanent refusal fails the message at once."""
    step = next_step(claimed(1), TransportRejected("bad number"), now=NOW, config=CONFIG)

    assert isinstance(step, GiveUp)
    assert step.status is MessageStatus.FAILED


def test_attempts_run_out() -> None:
    """After max_attempts the message fails."""
    step = next_step(claimed(4), TransportUnavailable("down"), now=NOW, config=CONFIG)

    assert isinstance(step, GiveUp)
    assert step.status is MessageStatus.FAILED


def test_no_retry_is_planned_past_the_codes_expiry() -> None:
    """A retry that would land after the code expires ends the message as expired."""
    step = next_step(
        claimed(3, ttl=timedelta(seconds=5)), TransportUnavailable("down"), now=NOW, config=CONFIG
    )

    assert isinstance(step, GiveUp)
    assert step.status is MessageStatus.EXPIRED


def test_an_unanswered_attempt_is_retried_as_a_possible_duplicate() -> None:
    """No answer means it may have been sent: the retry is flagged."""
    step = next_step(claimed(1), DeliveryUncertain("timeout"), now=NOW, config=CONFIG)

    assert isinstance(step, Retry)
    assert step.possible_duplicate


@pytest.mark.parametrize(
    ("error", "attempts", "kind"),
    [
        (TransportRejected("bad number"), 1, FailureKind.REFUSED),
        (LineRefused("ESME_RINVSRCADR"), 1, FailureKind.REFUSED),
        (LineRefused("ESME_RINVSRCADR"), 4, FailureKind.REFUSED),  # its attempts ran out
        (TransportUnavailable("down"), 1, FailureKind.UNAVAILABLE),
        (TransportUnavailable("down"), 4, FailureKind.UNAVAILABLE),
        (DeliveryUncertain("timeout"), 1, FailureKind.UNCERTAIN),
        (DeliveryError("odd"), 1, FailureKind.OTHER),
    ],
)
def test_each_step_names_the_kind_of_its_failure(
    error: DeliveryError, attempts: int, kind: FailureKind
) -> None:
    """The kind comes from the error's class, whatever its words say."""
    step = next_step(claimed(attempts), error, now=NOW, config=CONFIG)

    assert step.kind is kind


def test_a_retry_cut_short_by_expiry_keeps_its_failures_kind() -> None:
    step = next_step(
        claimed(3, ttl=timedelta(seconds=5)), DeliveryUncertain("x"), now=NOW, config=CONFIG
    )

    assert isinstance(step, GiveUp)
    assert (step.status, step.kind) == (MessageStatus.EXPIRED, FailureKind.UNCERTAIN)
