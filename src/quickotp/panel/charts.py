"""
Traffic as the dashboard's charts draw it (Chart.js, fed JSON from a data block) and as
the tables beside them show it without JavaScript: labels in the reader's language.
"""

from __future__ import annotations

from typing import Any

from quickotp.domain.models import (
    POST_BROKEN_OFF,
    POST_NO_ANSWER,
    POST_REFUSED,
    MessageStatus,
    VerificationStatus,
    WebhookDelivery,
    WebhookState,
)
from quickotp.panel.i18n import N_, Translator
from quickotp.services import webhooks
from quickotp.services.workspace import SERIES, Traffic

SERIES_LABELS = {
    "delivered": N_("Delivered"),
    "in_flight": N_("On its way"),
    "not_delivered": N_("Not delivered"),
}
STATUS_LABELS = {
    MessageStatus.QUEUED: N_("Queued"),
    MessageStatus.SENDING: N_("Sending"),
    MessageStatus.SENT: N_("Sent"),
    MessageStatus.DELIVERED: N_("Delivered"),
    MessageStatus.UNDELIVERED: N_("Undelivered"),
    MessageStatus.FAILED: N_("Failed"),
    MessageStatus.EXPIRED: N_("Expired"),
}
VERIFICATION_LABELS = {
    VerificationStatus.PENDING: N_("Waiting for the code"),
    VerificationStatus.APPROVED: N_("Verified"),
    VerificationStatus.EXPIRED: N_("Expired"),
    VerificationStatus.MAX_ATTEMPTS_REACHED: N_("Too many attempts"),
    VerificationStatus.CANCELED: N_("Canceled"),
}
WEBHOOK_LABELS = {
    WebhookState.PENDING: N_("waiting to be posted"),
    WebhookState.SENDING: N_("being posted"),
    WebhookState.DELIVERED: N_("taken by the server"),
    WebhookState.FAILED: N_("given up"),
}
# Why a post failed, as the worker records it: words that name no error class,
# address or port, so the page cannot serve to map what the gateway can reach.
WEBHOOK_FAILURES = {
    POST_REFUSED: N_("refused: the address is not a public one"),
    POST_NO_ANSWER: N_("the address did not answer"),
    POST_BROKEN_OFF: N_("the connection broke off"),
}
PERIOD_LABELS = {"24h": N_("24 hours"), "7d": N_("7 days"), "30d": N_("30 days")}


def post_summary(tr: Translator, post: WebhookDelivery) -> str | None:
    """Why a delivery report's last post failed, for its owner; None when it did not fail."""
    code = post.last_status_code
    if code is not None and not 200 <= code < 300:
        return webhooks.http_summary(code)
    if post.last_error is None:
        return None
    return tr(WEBHOOK_FAILURES.get(post.last_error, N_("it failed")))


def verification_label(tr: Translator, status: str) -> str:
    try:
        return tr(VERIFICATION_LABELS[VerificationStatus(status)])
    except ValueError:
        return status


def rows(tr: Translator, traffic: Traffic) -> list[tuple[str, list[int]]]:
    """The sends table: one row per bucket, a count per series."""
    return [
        (
            tr.bucket_label(start, traffic.bucket),
            [traffic.series[name][i] for name in SERIES],
        )
        for i, start in enumerate(traffic.starts)
    ]


def series_totals(traffic: Traffic) -> dict[str, int]:
    return {name: sum(traffic.series[name]) for name in SERIES}


def chart_data(tr: Translator, traffic: Traffic) -> dict[str, Any]:
    """What panel.js hands to Chart.js."""
    totals = series_totals(traffic)
    return {
        "rtl": tr.rtl,
        "locale": "fa-IR" if tr.rtl else "en-US",
        "sends": {
            "labels": [tr.bucket_label(start, traffic.bucket) for start in traffic.starts],
            "series": [
                {"key": name, "label": tr(SERIES_LABELS[name]), "data": traffic.series[name]}
                for name in SERIES
            ],
        },
        "delivery": {
            "labels": [tr(SERIES_LABELS[name]) for name in SERIES],
            "keys": list(SERIES),
            "data": [totals[name] for name in SERIES],
        },
        "verifications": {
            "labels": [verification_label(tr, status) for status in traffic.verifications],
            "keys": list(traffic.verifications),
            "data": list(traffic.verifications.values()),
        },
    }
