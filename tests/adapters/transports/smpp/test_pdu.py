"""smpp_pdu: the PDUs we write, byte for byte as §4 lays them out, and what we read from peers."""

from __future__ import annotations

import struct

import pytest
import smpp34
from hypothesis import given
from hypothesis import strategies as st

from quickotp.adapters.transports.smpp import pdu as smpp_pdu
from quickotp.adapters.transports.smpp.pdu import Pdu, PduError

from .scripted import receipt

PDU = Pdu(
    "989120000000",
    1,
    1,
    "10004321",
    2,
    1,
    0x40,
    8,
    b"\x05\x00\x03\x07\x02\x01ab",
    "000002000000000R",
)


def test_submit_sm_decodes_with_a_third_party_codec() -> None:
    """smpp34's decoder reads our submit_sm field for field."""
    wire = smpp_pdu.encode(smpp_pdu.SUBMIT_SM, 7, smpp_pdu.submit_sm_body(PDU))

    decoded = smpp34.decode(wire)

    assert isinstance(decoded, smpp34.SubmitSm)
    assert decoded.sequence_number == 7
    assert (decoded.source_addr, decoded.source_addr_ton, decoded.source_addr_npi) == (
        "10004321",
        2,
        1,
    )
    assert (decoded.destination_addr, decoded.dest_addr_ton, decoded.dest_addr_npi) == (
        "989120000000",
        1,
        1,
    )
    assert (decoded.esm_class, decoded.data_coding, decoded.registered_delivery) == (0x40, 8, 1)
    assert decoded.validity_period == "000002000000000R"
    assert decoded.short_message == PDU.short_message


def test_a_deliver_sm_from_a_third_party_codec_is_read_with_its_tlvs() -> None:
    """A receipt as smpp34 encodes it: its text, esm_class and optional parameters."""
    wire = receipt(9, [smpp34.Tlv(0x001E, b"1F\x00"), smpp34.Tlv(0x0427, b"\x02")])
    length, command_id, _, sequence = smpp_pdu.HEADER.unpack_from(wire)

    event = smpp_pdu.deliver_sm(wire[smpp_pdu.HEADER.size : length])

    assert (command_id, sequence) == (smpp_pdu.DELIVER_SM, 9)
    assert event.esm_class == 0x04
    assert (event.source_addr, event.destination_addr) == ("989120000000", "10004321")
    assert event.short_message.startswith(b"id:1F ")
    assert event.tlvs == {0x001E: b"1F\x00", 0x0427: b"\x02"}


def test_submit_sm_resp_message_id() -> None:
    assert smpp_pdu.message_id(b"0000001F\x00") == "0000001F"
    assert smpp_pdu.message_id(b"") == ""  # a refusal may carry no body (§4.4.2)


@pytest.mark.parametrize(
    "body",
    [
        b"",  # nothing at all
        b"\x00\x01\x01",  # ends inside the source address
        b"\x00" + b"\x01\x01" + b"9" * 30,  # an address past 20 octets, unterminated
        b"\x00\x01\x01a\x00\x01\x01b\x00\x04\x00\x00\x00\x00\x01\x00\x00\x00\x09ab",  # short text
        b"\x00\x01\x01a\x00\x01\x01b\x00\x04\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x1e\x00",
    ],
)
def test_a_malformed_deliver_sm_is_a_pdu_error(body: bytes) -> None:
    with pytest.raises(PduError):
        smpp_pdu.deliver_sm(body)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_pdu_error(body: bytes) -> None:
    """Whatever a peer sends as a deliver_sm or submit_sm_resp body: a value or PduError."""
    try:
        event = smpp_pdu.deliver_sm(body)
    except PduError:
        pass
    else:
        assert len(event.source_addr) <= 20
        assert all(len(value) <= len(body) for value in event.tlvs.values())
    try:
        found = smpp_pdu.message_id(body)
    except PduError:
        pass
    else:
        assert len(found) <= 64


@pytest.mark.parametrize(
    ("field", "value"),
    [("source", "1" * 21), ("destination", "9" * 21), ("source", "a\0b"), ("source", "کد")],
)
def test_a_field_that_does_not_fit_is_refused_before_writing(field: str, value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - UnicodeEncodeError is a ValueError too
        smpp_pdu.submit_sm_body(_with(field, value))


def _with(field: str, value: object) -> Pdu:
    values = {name: getattr(PDU, name) for name in Pdu.__dataclass_fields__}
    values[field] = value
    return Pdu(**values)


def test_a_short_message_past_254_octets_is_refused() -> None:
    with pytest.raises(ValueError, match="254"):
        smpp_pdu.submit_sm_body(_with("short_message", b"x" * 255))


def test_header_layout() -> None:
    assert smpp_pdu.encode(smpp_pdu.ENQUIRE_LINK, 3) == struct.pack(">IIII", 16, 0x15, 0, 3)
