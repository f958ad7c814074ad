"""
SMPP 3.4 PDUs as bytes (§3, §4): the ones an ESME that submits and takes delivery receipts
sends and reads, encoded and decoded, no I/O. Anything malformed from the peer is PduError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence_number
_TLV = struct.Struct(">HH")
MAX_PDU = 70_000  # a deliver_sm with a full message_payload (§5.3.2.32) fits; longer is garbage
MAX_SEQUENCE = 0x7FFFFFFF  # §5.1.4: 1 .. 0x7FFFFFFF

RESPONSE = 0x80000000  # the bit that makes a command_id its response's
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
ALERT_NOTIFICATION = 0x00000102  # §4.12: no response is sent

ESME_ROK = 0x00
ESME_RINVCMDID = 0x03
ESME_RX_T_APPN = 0x64  # §5.1.3: temporary application error, the SMSC retries later
ESME_RX_P_APPN = 0x65  # permanent: not to be sent again
INTERFACE_VERSION = 0x34

NAMES = {
    BIND_RECEIVER: "bind_receiver",
    BIND_TRANSMITTER: "bind_transmitter",
    BIND_TRANSCEIVER: "bind_transceiver",
    SUBMIT_SM: "submit_sm",
    UNBIND: "unbind",
    ENQUIRE_LINK: "enquire_link",
}
BIND_COMMANDS = {"TRX": BIND_TRANSCEIVER, "TX": BIND_TRANSMITTER, "RX": BIND_RECEIVER}


class PduError(ValueError):
    """Bytes from the peer that are not the PDU they claim to be."""


@dataclass(frozen=True, slots=True)
class Pdu:
    """The fields of one submit_sm that vary per part."""

    destination: str
    dest_ton: int
    dest_npi: int
    source: str
    source_ton: int
    source_npi: int
    esm_class: int
    data_coding: int
    short_message: bytes
    validity_period: str


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """The fields of a deliver_sm (§4.6.1) that a delivery receipt is read from."""

    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: dict[int, bytes]


def encode(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    """One whole PDU: the header, then `body`."""
    return HEADER.pack(HEADER.size + len(body), command_id, status, sequence) + body


def _cstring(text: str, limit: int, name: str) -> bytes:
    """A C-Octet String (§3.1) of at most `limit` octets before its NUL."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be Latin-1 text") from None  # never echo a password
    if len(raw) > limit or b"\0" in raw:
        raise ValueError(f"{name} must be at most {limit} octets without NUL")
    return raw + b"\0"


def bind_body(system_id: str, password: str, system_type: str) -> bytes:
    """bind_transmitter / bind_receiver / bind_transceiver (§4.1): no address range."""
    return (
        _cstring(system_id, 15, "system_id")
        + _cstring(password, 64, "password")  # §4.1 says 8; operators hand out longer
        + _cstring(system_type, 12, "system_type")
        + bytes((INTERFACE_VERSION, 0, 0))  # addr_ton, addr_npi unknown
        + b"\0"  # address_range
    )


def submit_sm_body(pdu: Pdu) -> bytes:
    """submit_sm (§4.4.1), registered_delivery on (§5.2.17: receipt on success or failure)."""
    if len(pdu.short_message) > 254:
        raise ValueError("short_message must be at most 254 octets")
    return b"".join(
        (
            b"\0",  # service_type: the SMSC's default
            bytes((pdu.source_ton, pdu.source_npi)),
            _cstring(pdu.source, 20, "source_addr"),
            bytes((pdu.dest_ton, pdu.dest_npi)),
            _cstring(pdu.destination, 20, "destination_addr"),
            bytes((pdu.esm_class, 0, 0)),  # protocol_id, priority_flag
            b"\0",  # schedule_delivery_time: now
            _cstring(pdu.validity_period, 16, "validity_period"),
            bytes((1, 0, pdu.data_coding, 0, len(pdu.short_message))),
            pdu.short_message,
        )
    )


class _Reader:
    """Reads a PDU body field by field; running out of octets is PduError."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.at = 0

    def cstring(self, limit: int) -> str:
        end = self.body.find(b"\0", self.at, self.at + limit + 1)
        if end < 0:
            raise PduError(f"a C-Octet String at {self.at} is unterminated or past {limit}")
        text = self.body[self.at : end].decode("latin-1")
        self.at = end + 1
        return text

    def octets(self, count: int) -> bytes:
        if self.at + count > len(self.body):
            raise PduError(f"the body ends before octet {self.at + count}")
        raw = self.body[self.at : self.at + count]
        self.at += count
        return raw

    def tlvs(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        while self.at < len(self.body):
            tag, length = _TLV.unpack(self.octets(_TLV.size))
            found[tag] = self.octets(length)
        return found


def message_id(body: bytes) -> str:
    """submit_sm_resp's message_id (§4.4.2); none when refused (its body may be empty)."""
    if not body:
        return ""
    return _Reader(body).cstring(64)


def deliver_sm(body: bytes) -> DeliverSm:
    """Decode a deliver_sm body (§4.6.1), its optional parameters included."""
    read = _Reader(body)
    read.cstring(5)  # service_type
    read.octets(2)  # source_addr_ton, source_addr_npi
    source = read.cstring(20)
    read.octets(2)  # dest_addr_ton, dest_addr_npi
    destination = read.cstring(20)
    esm_class, _, _ = read.octets(3)  # protocol_id, priority_flag
    read.cstring(16)  # schedule_delivery_time
    read.cstring(16)  # validity_period
    _, _, data_coding, _, length = read.octets(5)
    short_message = read.octets(length)
    return DeliverSm(source, destination, esm_class, data_coding, short_message, read.tlvs())
