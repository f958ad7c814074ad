"""
The pure SMPP codec: GSM-7 detection, part counting, UDH splitting, validity periods,
addresses, receipt parsing, message id normalisation and command statuses.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quickotp.adapters.transports.smpp import codec
from quickotp.domain import sms as domain_sms
from quickotp.domain.delivery import DeliveryState
from quickotp.domain.errors import DeliveryUncertain, TransportRejected, TransportUnavailable

# Independent of the codec's tables: the domain's GSM 03.38 string and 3GPP TS 23.038's
# extension codes, to read back what the codec wrote.
GSM7_EXTENSION_CODES = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[",
                        0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}  # fmt: skip


def gsm7_decode(data: bytes) -> str:
    """Unpacked GSM-7 septets back to text."""
    out, escaped = [], False
    for octet in data:
        if escaped:
            out.append(GSM7_EXTENSION_CODES[octet])
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            out.append(domain_sms.GSM7_BASIC[octet])
    assert not escaped
    return "".join(out)


def decode(data_coding: int, segment: bytes) -> str:
    """A segment back to text, by its data_coding."""
    if data_coding == codec.DATA_CODING_GSM7:
        return gsm7_decode(segment)
    assert data_coding == codec.DATA_CODING_UCS2
    return segment.decode("utf-16-be")


def parts(text: str) -> int:
    """How many parts the codec cuts `text` into."""
    return len(codec.split(text).segments)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Your code: 048213", True), ("{[€]}|^~\\", True), ("کد ۰۴۸۲۱۳", False), ("ç", False)],
)
def test_gsm7_detection(text: str, expected: bool) -> None:
    """GSM-7 covers the basic and extension tables and nothing else (Persian, ç)."""
    assert codec.is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets: an extension character takes two
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        ("ک" * 70, 1),
        ("ک" * 71, 2),
        ("ک" * 134, 2),
        ("ک" * 135, 3),
        ("😀" * 35, 1),  # 70 UTF-16 code units
        ("😀" * 36, 2),
    ],
)
def test_part_count(text: str, count: int) -> None:
    """Parts follow 160/153 septets (GSM-7) and 70/67 UTF-16 units (UCS-2)."""
    assert parts(text) == count == domain_sms.segment(text).parts


def test_escape_pair_is_never_cut() -> None:
    """An extension character straddling the 153rd septet moves whole to the next part."""
    segments = codec.split("a" * 152 + "€" + "b" * 10).segments

    assert [len(s) for s in segments] == [152, 12]
    assert segments[1][:2] == bytes((0x1B, 0x65))


def test_surrogate_pair_is_never_cut() -> None:
    """A character outside the BMP straddling the 67th unit moves whole to the next part."""
    segments = codec.split("ک" * 66 + "😀" + "ک" * 10).segments

    assert [len(s) for s in segments] == [132, 24]
    assert segments[1][:4].decode("utf-16-be") == "😀"


def test_udh_is_the_8bit_concatenation_header() -> None:
    """Each part starts 05 00 03 ref total seq."""
    with_udh = codec.with_udh((b"ab", b"cd", b"e"), reference=0x1F3)

    assert with_udh == (
        bytes((5, 0, 3, 0xF3, 3, 1)) + b"ab",
        bytes((5, 0, 3, 0xF3, 3, 2)) + b"cd",
        bytes((5, 0, 3, 0xF3, 3, 3)) + b"e",
    )


@given(st.text(max_size=1200))
def test_split_then_join_returns_the_text(text: str) -> None:
    """Any text, cut into parts and decoded part by part, joins back to itself."""
    encoded = codec.split(text)

    capacity = 140 if len(encoded.segments) == 1 else 134
    assert all(len(segment) <= capacity for segment in encoded.segments)
    assert "".join(decode(encoded.data_coding, s) for s in encoded.segments) == text


BMP_WITHOUT_ESCAPES = st.characters(
    max_codepoint=0xFFFF, codec="utf-8", exclude_characters="^{}\\[~]|€\f"
)


@given(st.text(alphabet=BMP_WITHOUT_ESCAPES))
def test_part_count_matches_the_domain_rule(text: str) -> None:
    """Without escape or surrogate pairs to keep whole, the count is the domain's rule exactly."""
    assert parts(text) == domain_sms.segment(text).parts


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (120, "000000000200000R"),
        (90_061, "000001010101000R"),
        (40 * 86_400, "000031000000000R"),
    ],
)
def test_relative_validity(seconds: int, expected: str) -> None:
    """Seconds become an SMPP relative time, capped at 31 days."""
    assert codec.relative_validity(seconds) == expected


@pytest.mark.parametrize(
    ("sender", "ton", "npi", "expected"),
    [
        ("QuickOTP", None, None, ("QuickOTP", 5, 0)),
        ("10004321", None, None, ("10004321", 2, 1)),
        ("+989120000000", None, None, ("989120000000", 1, 1)),
        ("00989120000000", None, None, ("989120000000", 1, 1)),
        ("10004321", 3, 0, ("10004321", 3, 0)),
    ],
)
def test_source_address(
    sender: str, ton: int | None, npi: int | None, expected: tuple[str, int, int]
) -> None:
    """The sender line picks TON/NPI, unless the route's URL sets them."""
    assert codec.source_address(sender, ton=ton, npi=npi) == expected


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("0000001A", None, "1a"),
        ("  00123\x00", None, "123"),
        ("000", None, "0"),
        ("1A", 16, "26"),
        ("0026", 10, "26"),
        ("not-hex", 16, "not-hex"),
    ],
)
def test_canonical_id(raw: str, base: int | None, expected: str) -> None:
    """Case, padding, NULs and (when told) the base never make two spellings of one id."""
    assert codec.canonical_id(raw, base) == expected


RECEIPT = b"id:0001A sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:stat:UNDELIV id:9"  # noqa: E501


def test_receipt_text_is_parsed() -> None:
    """Appendix B text gives the id and state; what follows `text:` is ignored."""
    assert codec.parse_receipt(RECEIPT, {}) == codec.Receipt("1a", DeliveryState.DELIVERED)


def test_receipt_tlvs_win_over_the_text() -> None:
    """receipted_message_id and message_state, when present, beat the text."""
    tlvs = {codec.TLV_RECEIPTED_MESSAGE_ID: b"00FF\x00", codec.TLV_MESSAGE_STATE: bytes((5,))}

    assert codec.parse_receipt(RECEIPT, tlvs) == codec.Receipt("ff", DeliveryState.UNDELIVERED)


def test_receipt_in_message_payload() -> None:
    """A receipt whose text is in message_payload, short_message empty, is read."""
    tlvs = {codec.TLV_MESSAGE_PAYLOAD: b"id:77 stat:EXPIRED"}

    assert codec.parse_receipt(b"", tlvs) == codec.Receipt("77", DeliveryState.EXPIRED)


def test_receipt_ids_in_another_base() -> None:
    """With hex submit_sm_resp ids and decimal receipt text, both sides give one id."""
    tlv = codec.parse_receipt(b"", {codec.TLV_RECEIPTED_MESSAGE_ID: b"1A"}, resp_base=16)
    text = codec.parse_receipt(b"id:26 stat:DELIVRD", {}, resp_base=16, text_base=10)

    assert tlv is not None
    assert text is not None
    assert tlv.message_id == text.message_id == codec.canonical_id("1A", 16)


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", DeliveryState.DELIVERED),
        ("undeliv", DeliveryState.UNDELIVERED),
        ("EXPIRED", DeliveryState.EXPIRED),
        ("REJECTD", DeliveryState.REJECTED),
        ("ACCEPTD", DeliveryState.ACCEPTED),
        ("ENROUTE", DeliveryState.ACCEPTED),
        ("DELETED", DeliveryState.UNKNOWN),
        ("UNKNOWN", DeliveryState.UNKNOWN),
    ],
)
def test_receipt_stat_words(stat: str, state: DeliveryState) -> None:
    """Each `stat:` word maps onto a DeliveryState, case aside."""
    receipt = codec.parse_receipt(f"id:1 stat:{stat}".encode(), {})

    assert receipt == codec.Receipt("1", state)


@pytest.mark.parametrize(
    "text",
    [
        b"ID:2b Stat:DELIVRD Text:id:9",  # field names in any case
        b"id:2b\tsub:001\r\nstat:DELIVRD",  # any whitespace between fields
        b"id: sub:001 id:2b stat:DELIVRD stat:UNDELIV",  # an empty id is none; the first wins
        b"msgid:9 id:2b xstat:UNDELIV stat:DELIVRD context:x",  # names are whole words
    ],
)
def test_receipt_text_fields_are_whole_words_in_any_case(text: bytes) -> None:
    assert codec.parse_receipt(text, {}) == codec.Receipt("2b", DeliveryState.DELIVERED)


def test_receipt_without_id_is_none() -> None:
    """A receipt that names no message gives None."""
    assert codec.parse_receipt(b"stat:DELIVRD", {}) is None


@pytest.mark.parametrize(
    ("esm_class", "expected"), [(0x04, True), (0x20, True), (0x00, False), (0x08, False)]
)
def test_is_receipt(esm_class: int, expected: bool) -> None:
    """SMSC receipts and intermediate notifications are receipts; an MO message is not."""
    assert codec.is_receipt(esm_class) is expected


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (0x0B, TransportRejected),
        (0x62, TransportRejected),
        (0x58, TransportUnavailable),
        (0x14, TransportUnavailable),
        (0x08, TransportUnavailable),
        (0x0400, TransportUnavailable),
    ],
)
def test_status_error(status: int, kind: type[Exception]) -> None:
    """Refusals map to TransportRejected or TransportUnavailable, never DeliveryUncertain."""
    error = codec.status_error(status)

    assert type(error) is kind
    assert not isinstance(error, DeliveryUncertain)
    assert f"0x{status:08X}" in str(error)
