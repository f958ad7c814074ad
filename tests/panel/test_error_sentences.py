"""
Every error the panel can show has its sentence in English and Persian, in the person's
terms: no English detail, no class name, no placeholder left unfilled. A new error class,
subject or raise without its sentence fails here.
"""

from __future__ import annotations

import ast
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain import errors
from quickotp.domain.errors import Subject
from quickotp.domain.models import FailureKind, GiveUp, MessageStatus
from quickotp.panel import errors as error_text
from quickotp.panel.fa import FA
from quickotp.panel.i18n import Translator
from tests.panel.conftest import Browser, approved_account, open_browser

SOURCE = Path(__file__).parents[2] / "src" / "quickotp"
TEHRAN = ZoneInfo("Asia/Tehran")
DETAIL = "an internal detail nobody should read"
# Latin a Persian sentence may hold: what is typed as is (a variable, a setting's form, a key).
KEPT_LATIN = {"code", "OTP", "API", "name", "value", "http", "https"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
VALUES = {
    "high": 10**15,
    "first": 1971,
    "last": 2999,
    "most": 50,
    "least": 3,
    "typed": "1405/13/01",
}


def error_classes() -> list[type[errors.GatewayError]]:
    """GatewayError and every class under it."""
    found, todo = [], [errors.GatewayError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted({c for c in found if c.__module__ == errors.__name__}, key=lambda c: c.__name__)


def latin_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in KEPT_LATIN]


def example(cls: type[errors.GatewayError]) -> errors.GatewayError:
    """An instance of `cls` as the gateway raises it, with an English detail in its text."""
    if issubclass(cls, errors.SignInThrottled | errors.PasswordHashingBusy):
        return cls(DETAIL, retry_after=300)
    return cls(DETAIL)


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("locale", ["en", "fa"])
def test_every_error_class_has_a_sentence_without_its_detail(
    cls: type[errors.GatewayError], locale: str
) -> None:
    """Said in the language, with no English detail, class name or unfilled placeholder."""
    said = error_text.describe(Translator(locale, TEHRAN), example(cls))

    assert said
    assert DETAIL not in said
    assert cls.__name__ not in said
    assert "{" not in said
    if locale == "fa":
        assert latin_words(said) == [], said


def test_every_sentence_the_panel_words_errors_with_is_in_persian() -> None:
    """Each class's and each subject's sentence has its Persian translation."""
    sentences = [*error_text.MESSAGES.values(), *error_text.SUBJECTS.values()]

    assert sorted(s for s in sentences if s not in FA) == []


@pytest.mark.parametrize("subject", list(Subject), ids=str)
@pytest.mark.parametrize("locale", ["en", "fa"])
def test_every_subject_has_a_sentence_in_both_languages(subject: Subject, locale: str) -> None:
    """A subject the domain names and the panel cannot say fails here."""
    exc = errors.InvalidInput(DETAIL, subject=subject, **VALUES)

    said = error_text.describe(Translator(locale, TEHRAN), exc)

    assert subject in error_text.SUBJECTS
    assert DETAIL not in said
    assert "{" not in said
    if locale == "fa":
        assert error_text.SUBJECTS[subject] in FA
        assert latin_words(said) == [], said


@pytest.mark.parametrize(
    ("seconds", "en", "fa"),
    [
        (30, "Try again in 1 minute.", "۱ دقیقه دیگر"),
        (60, "Try again in 1 minute.", "۱ دقیقه دیگر"),
        (61, "Try again in 2 minutes.", "۲ دقیقه دیگر"),
        (900, "Try again in 15 minutes.", "۱۵ دقیقه دیگر"),
    ],
)
def test_a_wait_is_said_in_the_singular_for_one_minute(seconds: int, en: str, fa: str) -> None:
    """English says 1 minute, 2 minutes; Persian puts no plural after a number."""
    for exc in (
        errors.MobileCooldown(DETAIL, retry_after=seconds),
        errors.SignInThrottled(DETAIL, retry_after=seconds),
        errors.TokenRateLimited(DETAIL, retry_after=seconds),
    ):
        said_en = error_text.describe(Translator("en", TEHRAN), exc)
        said_fa = error_text.describe(Translator("fa", TEHRAN), exc)

        assert said_en.endswith(en), said_en
        assert fa in said_fa, said_fa


def raises_of(names: set[str]) -> list[tuple[str, ast.Call]]:
    """(where, call) for each call of a class named in `names` in the package's source."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
            ):
                found.append((f"{path.relative_to(SOURCE)}:{node.lineno}", node))
    return found


def test_every_invalid_input_and_conflict_names_its_subject_and_values() -> None:
    """
    Each InvalidInput(...) and Conflict(...) in the source says what it is about, and
    gives every value its sentence names: else the panel could only say "cannot be used".
    """
    problems = []
    for where, call in raises_of({"InvalidInput", "Conflict"}):
        keywords = {k.arg: k.value for k in call.keywords}
        subject = keywords.get("subject")
        if not (isinstance(subject, ast.Attribute) and subject.attr in Subject.__members__):
            problems.append(f"{where}: no subject")
            continue
        needed = set(_PLACEHOLDER.findall(error_text.SUBJECTS[Subject[subject.attr]]))
        if missing := needed - keywords.keys():
            problems.append(f"{where}: {subject.attr} without {sorted(missing)}")

    assert problems == []


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("queued", FailureKind.UNAVAILABLE),
        ("queued", FailureKind.UNCERTAIN),
        ("failed", FailureKind.UNAVAILABLE),
        ("failed", FailureKind.REFUSED),
        ("failed", FailureKind.OTHER),
        ("failed", None),
        ("expired", FailureKind.UNCERTAIN),
        ("expired", FailureKind.EXPIRED),
    ],
)
def test_a_message_failure_is_said_without_the_transport_words(
    status: str, kind: FailureKind | None
) -> None:
    """The message page's reason, for an account's user: a sentence, not a code or a class."""
    for locale in ("en", "fa"):
        said = error_text.send_failure(Translator(locale, TEHRAN), status, kind)

        assert "Transport" not in said
        assert "_" not in said
        if locale == "fa":
            assert latin_words(said) == [], said


def test_a_refusal_by_the_upstream_is_told_apart_from_no_route() -> None:
    en = Translator("en", TEHRAN)

    refused = error_text.send_failure(en, "failed", FailureKind.REFUSED)
    unreachable = error_text.send_failure(en, "failed", FailureKind.UNAVAILABLE)
    unknown = error_text.send_failure(en, "failed", None)

    assert (refused, unreachable, unknown) == (
        error_text.REFUSED_UPSTREAM,
        error_text.NOT_SENT,
        error_text.NOT_SENT,
    )


def test_a_message_the_operator_canceled_says_so() -> None:
    """Not "no route could take it": no route was tried."""
    en = Translator("en", TEHRAN)

    said = error_text.send_failure(en, "failed", FailureKind.CANCELED)

    assert said == error_text.CANCELED


def test_every_failure_kind_has_its_sentence() -> None:
    """A kind the dispatcher stores reads as one of the sentences, in both languages."""
    sentences = {
        error_text.CANCELED,
        error_text.REFUSED_UPSTREAM,
        error_text.NOT_SENT,
        error_text.VALIDITY_ENDED,
        error_text.TRYING_AGAIN,
    }
    for kind in FailureKind:
        for status in ("queued", "failed", "expired"):
            said = error_text.send_failure(Translator("en", TEHRAN), status, kind)

            assert said in sentences
            assert said in FA


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kind", "words", "sentence"),
    [
        # The stored words name a refusal; the kind says no route took it.
        (FailureKind.UNAVAILABLE, "TransportRejected: ESME_RINVDSTADR", error_text.NOT_SENT),
        # The words name no refusal (an SMSC's text may say anything); the kind says refused.
        (FailureKind.REFUSED, "gave up after 6 attempts: bind lost", error_text.REFUSED_UPSTREAM),
    ],
)
async def test_the_message_page_says_the_stored_kind_not_the_words(
    runtime: Runtime, operator: Browser, kind: FailureKind, words: str, sentence: str
) -> None:
    """The sentence follows messages.failure_kind; the route's words are the operator's."""
    user = await open_browser(runtime)
    token = await approved_account(user, operator, "kind@shop.test", "Kind shop")
    caller = await runtime.gateway.authenticate(token, method="SendQuickOTP", ip=None)
    sent = await runtime.gateway.send_quick_otp(caller, mobile="09120000001", code_length=6)
    given_up = GiveUp(sent.message_id, MessageStatus.FAILED, words, kind=kind)
    await runtime.store.record([given_up], now=datetime.now(UTC))

    page = await user.get(f"/panel/messages/{sent.message_id}")
    operators = await operator.get(f"/panel/operator/messages/{sent.message_id}")

    assert page.status_code == 200
    assert html.escape(sentence, quote=False) in page.text
    assert words.split(":")[0] not in page.text
    assert html.escape(sentence, quote=False) in operators.text
    assert words in operators.text  # the route's own words, for the operator only
    await user.http.aclose()
