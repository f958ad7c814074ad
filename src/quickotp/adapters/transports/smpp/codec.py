"""
Pure SMPP 3.4 knowledge for the SMPP transport: text encoding (GSM-7 / UCS-2), splitting into
concatenated parts with a UDH, validity periods, addresses, delivery receipts, message ids and
command statuses. No I/O and no clock here: the caller passes time in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from quickotp.domain.delivery import DeliveryState
from quickotp.domain.errors import (
    DeliveryError,
    LineRefused,
    TransportRejected,
    TransportUnavailable,
)

DATA_CODING_GSM7 = 0x00  # SMSC default alphabet (§5.2.19), sent unpacked: one septet per octet
DATA_CODING_UCS2 = 0x08  # UCS2 (ISO/IEC-10646), UTF-16-BE without a BOM
ESM_CLASS_UDHI = 0x40  # §5.2.12: short_message starts with a user data header
ESM_CLASS_TYPE_MASK = 0x3C  # §5.2.12 bits 5-2: the message type
ESM_CLASS_RECEIPT = 0x04  # SMSC delivery receipt
ESM_CLASS_INTERMEDIATE = 0x20  # intermediate delivery notification

TLV_RECEIPTED_MESSAGE_ID = 0x001E  # §5.3.2.12
TLV_MESSAGE_PAYLOAD = 0x0424  # §5.3.2.32: some SMSCs put the receipt text here
TLV_MESSAGE_STATE = 0x0427  # §5.3.2.35

# GSM 03.38 default alphabet in code-point order (0x1B is the escape to the extension table).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM7_CODE = {ch: code for code, ch in enumerate(GSM7_BASIC) if ch != "\x1b"}
_ESCAPE = 0x1B

# One part carries 140 octets of user data: 160 septets or 70 UCS-2 units, and with the
# 6-octet concatenation UDH (7 septets after padding) 153 septets or 67 units.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
MAX_PARTS = 255  # the UDH carries the part count in one octet


@dataclass(frozen=True)
class Encoded:
    """A text as it travels: its data_coding and its segments (without UDH), in order."""

    data_coding: int
    segments: tuple[bytes, ...]


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM 03.38 basic or extension table."""
    return all(ch in _GSM7_CODE or ch in GSM7_EXTENSION for ch in text)


def _gsm7_units(text: str) -> list[bytes]:
    # One entry per character, so an escape pair is never split across parts.
    return [
        bytes((_ESCAPE, GSM7_EXTENSION[ch])) if ch in GSM7_EXTENSION else bytes((_GSM7_CODE[ch],))
        for ch in text
    ]


def _ucs2_units(text: str) -> list[bytes]:
    # One entry per character: a character outside the BMP is a surrogate pair (4 octets)
    # and must not be cut.
    return [ch.encode("utf-16-be") for ch in text]


def _pack(units: list[bytes], capacity: int) -> tuple[bytes, ...]:
    """Greedy split of `units` (each `len // width` long) into segments of `capacity` units."""
    segments: list[bytes] = []
    current = bytearray()
    for unit in units:
        if len(current) + len(unit) > capacity:
            segments.append(bytes(current))
            current = bytearray()
        current += unit
    segments.append(bytes(current))
    return tuple(segments)


def split(text: str) -> Encoded:
    """
    The text in GSM-7 when it fits, UCS-2 otherwise, cut into as many segments as it needs.

    Septets (GSM-7) and UTF-16 code units (UCS-2) are counted as in GSM 03.38: one part holds
    160 / 70, a concatenated part 153 / 67, an extension character takes two septets. An
    escape pair or a surrogate pair is never cut, so in the rare case one would straddle a
    boundary it moves to the next part.
    """
    if is_gsm7(text):
        units = _gsm7_units(text)
        whole = b"".join(units)
        if len(whole) <= GSM7_SINGLE:
            return Encoded(DATA_CODING_GSM7, (whole,))
        return Encoded(DATA_CODING_GSM7, _pack(units, GSM7_PART))
    whole = text.encode("utf-16-be")
    if len(whole) <= UCS2_SINGLE * 2:  # one part: no character to keep whole across a cut
        return Encoded(DATA_CODING_UCS2, (whole,))
    return Encoded(DATA_CODING_UCS2, _pack(_ucs2_units(text), UCS2_PART * 2))


def with_udh(segments: tuple[bytes, ...], reference: int) -> tuple[bytes, ...]:
    """
    Each segment prefixed with the concatenation UDH (3GPP TS 23.040 §9.2.3.24.1):
    UDHL 05, IEI 00 (8-bit reference), IEDL 03, reference, total, sequence (from 1).
    """
    total = len(segments)
    if not 1 <= total <= MAX_PARTS:
        raise ValueError(f"{total} parts do not fit a concatenation UDH")
    ref = reference & 0xFF
    return tuple(
        bytes((0x05, 0x00, 0x03, ref, total, seq)) + segment
        for seq, segment in enumerate(segments, start=1)
    )


def relative_validity(seconds: int) -> str:
    """
    An SMPP relative time (§7.1.1, `YYMMDDhhmmss000R`) of at most `seconds`, capped at 31
    days, the largest the DD field holds.
    """
    if seconds < 1:
        raise ValueError("a validity period must be at least one second")
    days, rest = divmod(min(seconds, 31 * 86_400), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


TON_INTERNATIONAL, TON_NATIONAL, TON_ALPHANUMERIC = 1, 2, 5  # §5.2.5
NPI_UNKNOWN, NPI_ISDN = 0, 1  # §5.2.6


def source_address(sender: str, *, ton: int | None, npi: int | None) -> tuple[str, int, int]:
    """
    The source_addr for a sender line with its TON/NPI: letters make an alphanumeric sender
    (TON 5, NPI 0), `+digits` or `00digits` an international number (TON 1, NPI 1, prefix
    dropped), other digits a national one (TON 2, NPI 1, the Kannel and Jasmin default).
    A `ton` or `npi` given in the route's URL wins.
    """
    address = sender.strip()
    if address.startswith("+") and address[1:].isdigit():
        address, auto = address[1:], (TON_INTERNATIONAL, NPI_ISDN)
    elif address.startswith("00") and address.isdigit():
        address, auto = address[2:], (TON_INTERNATIONAL, NPI_ISDN)
    elif address.isdigit():
        auto = (TON_NATIONAL, NPI_ISDN)
    else:
        auto = (TON_ALPHANUMERIC, NPI_UNKNOWN)
    return address, auto[0] if ton is None else ton, auto[1] if npi is None else npi


def canonical_id(raw: str, base: int | None = None) -> str:
    """
    One spelling per message id, so ids from submit_sm_resp and from receipts compare equal:
    without `base`, trimmed, lower-cased and without leading zeros; with `base` (10 or 16),
    the decimal value, for SMSCs that answer in one base and report in the other.
    """
    text = raw.strip().strip("\x00").strip().lower()
    if base is not None:
        try:
            return str(int(text, base))
        except ValueError:
            pass
    return text.lstrip("0") or text[:1]


# §5.3.2.35 message_state values and Appendix B `stat:` words.
_STATE_BY_NUMBER = {
    1: DeliveryState.ACCEPTED,  # ENROUTE
    2: DeliveryState.DELIVERED,
    3: DeliveryState.EXPIRED,
    5: DeliveryState.UNDELIVERED,
    6: DeliveryState.ACCEPTED,
    8: DeliveryState.REJECTED,
}
_STATE_BY_WORD = {
    "DELIVRD": DeliveryState.DELIVERED,
    "DELIVERED": DeliveryState.DELIVERED,
    "UNDELIV": DeliveryState.UNDELIVERED,
    "UNDELIVERABLE": DeliveryState.UNDELIVERED,
    "EXPIRED": DeliveryState.EXPIRED,
    "REJECTD": DeliveryState.REJECTED,
    "REJECTED": DeliveryState.REJECTED,
    "ACCEPTD": DeliveryState.ACCEPTED,
    "ACCEPTED": DeliveryState.ACCEPTED,
    "ENROUTE": DeliveryState.ACCEPTED,
}


def _text_fields(text: str) -> dict[str, str]:
    """
    The `id` and `stat` fields of an Appendix B receipt text (names in any case, the first
    of each), read up to its `text:` field, whose free text may contain anything. Split on
    whitespace rather than searched with regular expressions: a third of the cost.
    """
    found: dict[str, str] = {}
    for word in text.split():
        name, colon, value = word.partition(":")
        if not colon:
            continue
        name = name.lower()
        if name == "text":
            break
        if value and name in ("id", "stat"):
            found.setdefault(name, value)
    return found


@dataclass(frozen=True)
class Receipt:
    """What a delivery receipt says: the canonical id of the message, and its state."""

    message_id: str
    state: DeliveryState


def is_receipt(esm_class: int) -> bool:
    """Whether a deliver_sm is a delivery receipt rather than a mobile-originated message."""
    return esm_class & ESM_CLASS_TYPE_MASK in (ESM_CLASS_RECEIPT, ESM_CLASS_INTERMEDIATE)


def parse_receipt(
    short_message: bytes,
    tlvs: Mapping[int, bytes],
    *,
    resp_base: int | None = None,
    text_base: int | None = None,
) -> Receipt | None:
    """
    The id and state of a delivery receipt, or None when it names no message.

    Reads the `receipted_message_id` / `message_state` TLVs and the Appendix B text
    (`id:... stat:...`, from short_message or message_payload); a TLV wins over the text.
    The TLV id is the submit_sm_resp id (§5.3.2.12), so it is read in `resp_base`; the
    text id in `text_base`.
    """
    body = short_message or tlvs.get(TLV_MESSAGE_PAYLOAD, b"")
    fields = _text_fields(body.decode("latin-1"))
    text_id, text_stat = fields.get("id"), fields.get("stat")

    message_id = None
    if raw_id := tlvs.get(TLV_RECEIPTED_MESSAGE_ID):
        message_id = canonical_id(raw_id.decode("latin-1"), resp_base)
    if not message_id and text_id:
        message_id = canonical_id(text_id, text_base)
    if not message_id:
        return None

    state = DeliveryState.UNKNOWN
    if (raw_state := tlvs.get(TLV_MESSAGE_STATE)) is not None and len(raw_state) == 1:
        state = _STATE_BY_NUMBER.get(raw_state[0], DeliveryState.UNKNOWN)
    elif text_stat:
        state = _STATE_BY_WORD.get(text_stat.upper(), DeliveryState.UNKNOWN)
    return Receipt(message_id, state)


# §5.1.3 command_status values the transport acts on.
ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14  # message queue full
ESME_RTHROTTLED = 0x58  # throttling error: the ESME exceeded its allowed rate
ESME_RSYSERR = 0x08
SLOW_DOWN = frozenset({ESME_RMSGQFUL, ESME_RTHROTTLED})

# Statuses where the SMSC refused this very message and will refuse it again (§5.1.3).
_PERMANENT = {
    0x01: "ESME_RINVMSGLEN",
    0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID",
    0x33: "ESME_RINVNUMDESTS",
    0x40: "ESME_RINVDESTFLAG",
    0x42: "ESME_RINVSUBREP",
    0x43: "ESME_RINVESMCLASS",
    0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON",
    0x51: "ESME_RINVDSTNPI",
    0x53: "ESME_RINVSYSTYP",
    0x54: "ESME_RINVREPFLAG",
    0x61: "ESME_RINVSCHED",
    0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID",
    0x66: "ESME_RX_R_APPN",
    0xC0: "ESME_RINVOPTPARSTREAM",
    0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN",
    0xC3: "ESME_RMISSINGOPTPARAM",
    0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE",
}
# Of those, the ones about the source address: the sender line, not the message.
_SOURCE = frozenset({0x0A, 0x48, 0x49})  # ESME_RINVSRCADR, ESME_RINVSRCTON, ESME_RINVSRCNPI
# Statuses where the SMSC did not take the message but may later (§5.1.3).
_TRANSIENT = {
    0x04: "ESME_RINVBNDSTS",
    ESME_RSYSERR: "ESME_RSYSERR",
    ESME_RMSGQFUL: "ESME_RMSGQFUL",
    0x45: "ESME_RSUBMITFAIL",
    ESME_RTHROTTLED: "ESME_RTHROTTLED",
    0x64: "ESME_RX_T_APPN",
    0xFF: "ESME_RUNKNOWNERR",
}


def status_error(status: int) -> DeliveryError:
    """
    Our error for a non-zero submit_sm_resp command_status. A non-zero status means the SMSC
    did not accept the message (§4.4.2), so nothing here is DeliveryUncertain. Statuses we
    don't know (vendor range 0x400-0x4FF included) count as transient, so the dispatcher
    may fail over to another route.
    """
    if name := _PERMANENT.get(status):
        if status in _SOURCE:  # the line itself: the message's backup line may do
            return LineRefused(f"the SMSC refused the sender line: {name} (0x{status:08X})")
        return TransportRejected(f"the SMSC refused the message: {name} (0x{status:08X})")
    name = _TRANSIENT.get(status, "unknown status")
    return TransportUnavailable(f"the SMSC did not take the message: {name} (0x{status:08X})")
