"""
The client pointed at Amoot itself: the requests are what Amoot's REST docs send, and the
answers Amoot documents (EliasZare/Amoot.AmootSMS.Doc samples) read as typed results. Also
answers no API documents. An httpx.MockTransport stands in for portal.amootsms.com.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
import pytest

import quickotp_client
from quickotp_client import AMOOT_URL, Client

TOKEN = "MyToken"
TEHRAN = ZoneInfo("Asia/Tehran")


def amoot(
    answer: dict[str, Any] | httpx.Response, seen: list[httpx.Request] | None = None
) -> Client:
    """A Client of Amoot's URL whose every request gets `answer`, each request kept in `seen`."""

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        if seen is not None:
            seen.append(request)
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    return Client(base_url=AMOOT_URL, token=TOKEN, transport=httpx.MockTransport(handle))


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


SENT: dict[str, Any] = {
    "Status": "Success",
    "Data": {"Mobile": 9120000000, "MessageID": 123456789, "Code": "48213", "Status": "Success"},
}


def test_send_quick_otp_posts_the_form_amoots_docs_show() -> None:
    """A urlencoded POST of Mobile, CodeLength and an empty OptionalCode, with the raw token."""
    seen: list[httpx.Request] = []

    amoot(SENT, seen).send_quick_otp("09120000000", code_length=6)

    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", f"{AMOOT_URL}/rest/SendQuickOTP")
    assert request.headers["authorization"] == TOKEN
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {"Mobile": "09120000000", "CodeLength": "6", "OptionalCode": ""}


def test_an_own_code_sets_code_length_to_its_length() -> None:
    """As public clients do, CodeLength is the own code's length unless given."""
    seen: list[httpx.Request] = []

    amoot(SENT, seen).send_quick_otp("09120000000", code="48213")

    assert form(seen[0]) == {"Mobile": "09120000000", "CodeLength": "5", "OptionalCode": "48213"}


@pytest.mark.parametrize("data", [SENT["Data"], [SENT["Data"]]], ids=["object", "array"])
def test_both_forms_of_data_read_the_same(data: Any) -> None:
    """Data as the SOAP contract's object or the prose docs' one-element array; Mobile a number."""
    sent = amoot({"Status": "Success", "Data": data}).send_quick_otp("09120000000")

    assert sent == quickotp_client.SentCode(message_id=123456789, mobile="9120000000", code="48213")


def test_ids_may_come_as_strings() -> None:
    """A MessageID and Mobile written as strings read the same as numbers."""
    data = {"Mobile": "9120000000", "MessageID": "123456789", "Code": "48213"}

    sent = amoot({"Status": "Success", "Data": data}).send_quick_otp("09120000000")

    assert (sent.message_id, sent.mobile) == (123456789, "9120000000")


def test_a_status_inside_data_counts() -> None:
    """A Data item whose own Status is not Success raises that Status."""
    data = {**SENT["Data"], "Status": "Mobile_Invalid"}

    with pytest.raises(quickotp_client.MobileInvalid):
        amoot({"Status": "Success", "Data": data}).send_quick_otp("09120000000")


@pytest.mark.parametrize(
    ("call", "path", "expected"),
    [
        (lambda c: c.account_status(), "AccountStatus", {}),
        (lambda c: c.get_delivery(600477358), "GetDelivery", {"MessageID": "600477358"}),
        (
            lambda c: c.get_deliveries([76641768, 76641769]),
            "GetDeliveries",
            {"ListMessageID": "76641768,76641769"},
        ),
        (lambda c: c.pattern_list(), "PatternCodeList", {}),
        (
            lambda c: c.pattern_create(
                "کد تایید شما %code%", is_otp=True, number_patterns=["code"], description="OTP"
            ),
            "PatternCodeCreate",
            {
                "MessageText": "کد تایید شما %code%",
                "NumberPatterns": "code",
                "IsOTP": "true",
                "RequestDescription": "OTP",
            },
        ),
    ],
    ids=["AccountStatus", "GetDelivery", "GetDeliveries", "PatternCodeList", "PatternCodeCreate"],
)
def test_each_method_posts_its_documented_form(
    call: Callable[[Client], object], path: str, expected: dict[str, str]
) -> None:
    """Each method is a form POST to /rest/<Method> with the parameters Amoot's docs name."""
    seen: list[httpx.Request] = []

    with pytest.raises(quickotp_client.TokenInvalid):
        call(amoot({"Status": "Token_Invalid", "Data": None}, seen))

    assert (seen[0].method, seen[0].url.path, form(seen[0])) == ("POST", f"/rest/{path}", expected)
    assert seen[0].headers["authorization"] == TOKEN


def test_account_status_as_amoot_documents_it() -> None:
    """Amoot's AccountStatus sample reads field by field."""
    answer = {
        "Status": "Success",
        "AccountName": "AccountName",
        "RemaindCredit": 25000,
        "BaseSMS_PersianPrice": 1000,
        "BaseSMS_EnglishPrice": 5000,
        "ServiceSMS_PersianPrice": 2050,
        "ServiceSMS_EnglishPrice": 6670,
        "AdsSMS_PersianPrice": 3870,
        "AdsSMS_EnglishPrice": 11560,
        "Avanak_SecondPrice": 23,
        "ListLineNumbers": ["98", "Public", "Service"],
    }

    account = amoot(answer).account_status()

    assert (account.name, account.credit) == ("AccountName", 25000)
    assert account.line_numbers == ("98", "Public", "Service")
    assert (account.ads_sms_english_price, account.avanak_second_price) == (11560, 23)


def test_account_status_failure_as_amoot_documents_it() -> None:
    """Amoot's zeroed failure shape raises its Status, User_NotExists."""
    answer = {"Status": "User_NotExists", "AccountName": None, "RemaindCredit": 0}

    with pytest.raises(quickotp_client.UserNotExists):
        amoot(answer).account_status()


def test_get_delivery_as_amoot_documents_it() -> None:
    """Amoot's GetDelivery sample: times in Tehran, milliseconds kept."""
    answer = {
        "Status": "Success",
        "Data": {
            "MessageID": 123456789,
            "DeliveryType": 2,
            "Cost": 0,
            "RegDateTime": "2025-10-25T15:16:59.590",
            "SendDateTime": "2025-10-25T15:16:59.590",
        },
    }

    delivery = amoot(answer).get_delivery(123456789)

    moment = datetime(2025, 10, 25, 15, 16, 59, 590000, tzinfo=TEHRAN)
    assert delivery == quickotp_client.Delivery(123456789, 2, 0, moment, moment)


def test_get_deliveries_as_amoot_documents_it() -> None:
    """Amoot's GetDeliveries sample, with two-digit fractions of a second."""
    item = {
        "MessageID": 123456789,
        "DeliveryType": 1,
        "Cost": 0,
        "RegDateTime": "2025-10-07T11:26:26.31",
        "SendDateTime": "2025-10-07T11:31:34.51",
        "Status": "Success",
    }

    (delivery,) = amoot({"Status": "Success", "Data": [item]}).get_deliveries([123456789])

    assert delivery.sent_at == datetime(2025, 10, 7, 11, 31, 34, 510000, tzinfo=TEHRAN)


def test_an_unsent_message_has_no_send_time() -> None:
    """Amoot's year-1 time means not sent."""
    data: dict[str, Any] = {"MessageID": 1, "DeliveryType": 900, "Cost": 0}
    data |= {"RegDateTime": "2025-10-07T11:26:26", "SendDateTime": "0001-01-01T00:00:00"}

    delivery = amoot({"Status": "Success", "Data": data}).get_delivery(1)

    assert delivery.sent_at is None


def test_pattern_list_as_amoot_documents_it() -> None:
    """Amoot's PatternCodeList sample, a status number of its own (3) included."""
    patterns = [
        {
            "ID": 1001,
            "Status": 1,
            "IsOTP": True,
            "MessageText": "کد تایید شما: %code%",
            "Patterns": ["code"],
            "NumberPatterns": ["code"],
        },
        {
            "ID": 1003,
            "Status": 3,
            "IsOTP": False,
            "MessageText": "سلام %name% عزیز، کد پیگیری: %tracking%",
            "Patterns": ["name", "tracking"],
            "NumberPatterns": ["tracking"],
        },
    ]

    found = amoot({"Status": "Success", "Data": patterns}).pattern_list()

    assert [(p.id, p.status, p.is_otp) for p in found] == [(1001, 1, True), (1003, 3, False)]
    assert found[1].variables == ("name", "tracking")


def test_pattern_create_failure_as_amoot_documents_it() -> None:
    """Amoot's failed PatternCodeCreate: Failed, with ValidationResult's number and message."""
    answer = {
        "Status": "Failed",
        "ValidationResult": {"Status": 3, "Message": "در متن پیامک الگو تعریف نشده است."},
        "Data": {"ID": 0, "Status": 0, "IsOTP": False, "MessageText": None},
    }

    with pytest.raises(quickotp_client.Failed) as raised:
        amoot(answer).pattern_create("no variables")

    assert raised.value.validation == quickotp_client.Validation(
        3, "در متن پیامک الگو تعریف نشده است."
    )
    assert str(raised.value).endswith("در متن پیامک الگو تعریف نشده است.")


def test_a_status_this_version_does_not_know() -> None:
    """An unknown Status raises the bare StatusError, with the name as sent."""
    with pytest.raises(quickotp_client.StatusError) as raised:
        amoot({"Status": "Something_New", "Data": None}).send_quick_otp("09120000000")

    assert (type(raised.value), raised.value.status) == (
        quickotp_client.StatusError,
        "Something_New",
    )


@pytest.mark.parametrize(
    ("answer", "http_status"),
    [
        (httpx.Response(502, text="<html>Bad Gateway</html>"), 502),
        (httpx.Response(200, text="<html>maintenance</html>"), 200),
        (httpx.Response(200, json={"Data": None}), 200),
        (httpx.Response(200, json={"Status": "Success", "Data": {"Mobile": 9120000000}}), 200),
        (httpx.Response(200, json={"Status": "Success", "Data": []}), 200),
    ],
    ids=["HTTP 502", "not JSON", "no Status", "no MessageID", "empty Data"],
)
def test_an_answer_no_api_documents_is_a_response_error(
    answer: httpx.Response, http_status: int
) -> None:
    """Anything but a readable envelope is a ResponseError, never a KeyError or httpx's."""
    with pytest.raises(quickotp_client.ResponseError) as raised:
        amoot(answer).send_quick_otp("09120000000")

    assert raised.value.http_status == http_status


def test_a_body_that_cannot_be_decoded_is_a_response_error() -> None:
    """A body its Content-Encoding does not fit is a ResponseError, not httpx's DecodingError."""
    broken = httpx.Response(
        200, stream=httpx.ByteStream(b"not gzip"), headers={"Content-Encoding": "gzip"}
    )

    with pytest.raises(quickotp_client.ResponseError):
        amoot(broken).send_quick_otp("09120000000")


def test_an_unknown_problem_type_is_a_bare_problem_error() -> None:
    """A /v1 problem type this version does not know raises ProblemError, with what it said."""
    problem = {"type": "urn:quickotp:problem:brand-new", "title": "New", "status": 418}
    answer = httpx.Response(418, json=problem, headers={"Content-Type": "application/problem+json"})

    with pytest.raises(quickotp_client.ProblemError) as raised:
        amoot(answer).get_message(1)

    assert (type(raised.value), raised.value.type) == (
        quickotp_client.ProblemError,
        problem["type"],
    )
    assert str(raised.value) == "New (HTTP 418)"


def test_retry_after_comes_from_the_header_too() -> None:
    """A problem without retry_after in its body takes the Retry-After header's seconds."""
    problem = {"type": "urn:quickotp:problem:ip-rate-limited", "status": 429}
    headers = {"Content-Type": "application/problem+json", "Retry-After": "7"}

    with pytest.raises(quickotp_client.IpRateLimitedProblem) as raised:
        amoot(httpx.Response(429, json=problem, headers=headers)).start_verification("0912")

    assert raised.value.retry_after == 7


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(404, json={"error": "not here"}),
    ],
    ids=["HTML", "JSON but no problem"],
)
def test_a_v1_error_that_is_no_problem_is_a_response_error(answer: httpx.Response) -> None:
    """A /v1 error answer that is not problem+json is a ResponseError with its HTTP status."""
    with pytest.raises(quickotp_client.ResponseError) as raised:
        amoot(answer).get_verification("abc")

    assert raised.value.http_status == answer.status_code


def test_v1_sends_a_bearer_token() -> None:
    """/v1 calls send `Authorization: Bearer <token>`."""
    seen: list[httpx.Request] = []

    with pytest.raises(quickotp_client.ResponseError):
        amoot(httpx.Response(500), seen).get_message(5)

    assert (seen[0].url.path, seen[0].headers["authorization"]) == (
        "/v1/messages/5",
        f"Bearer {TOKEN}",
    )


def test_the_token_stays_out_of_the_clients_repr() -> None:
    """repr(client) names the URL and never the token."""
    client = amoot(SENT)

    assert repr(client) == f"Client(base_url='{AMOOT_URL}')"


@pytest.mark.parametrize("url", ["portal.amootsms.com", "ftp://portal.amootsms.com", "http://[::1"])
def test_a_base_url_that_is_not_http_is_refused(url: str) -> None:
    """A base URL must be an absolute http(s) URL: a ValueError at construction otherwise."""
    with pytest.raises(ValueError, match="URL"):
        Client(base_url=url, token=TOKEN)


@pytest.mark.parametrize(
    "token", ["tok\r\nX-Injected: 1", "tökén"], ids=["line break", "not ASCII"]
)
def test_a_token_no_header_can_carry_is_refused_unnamed(token: str) -> None:
    """A token that cannot travel in a header is a ValueError that does not repeat it."""
    with pytest.raises(ValueError, match="printable ASCII") as raised:
        Client(base_url=AMOOT_URL, token=token)

    assert token not in str(raised.value)


def test_whitespace_around_the_token_is_dropped() -> None:
    """A token read from a file with its line break is sent without it."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SENT)

    client = Client(base_url=AMOOT_URL, token=f" {TOKEN}\n", transport=httpx.MockTransport(handle))

    client.send_quick_otp("09120000000")

    assert seen[0].headers["authorization"] == TOKEN
