"""
SmppTransport end to end against a real third-party peer: smpp34's Server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from quickotp.adapters.transports.smpp.transport import SmppTransport
from quickotp.domain import sms as domain_sms
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.errors import DeliveryUncertain, TransportRejected, TransportUnavailable
from tests.clock import ManualTimer, WallClock

from .conftest import PERSIAN_OTP, Connect, Reports, free_port, sms, until_bound
from .smsc_sim import Simulator, WireTap

pytestmark = pytest.mark.anyio

LONG_PERSIAN = ("کد ورود شما به سامانه: ۰۴۸۲۱۳. این کد را به کسی ندهید. " * 6)[:300]
SIMULATOR = Path(__file__).with_name("smsc_sim.py")


def reassemble(parts: list[bytes]) -> tuple[set[int], int, str]:
    """Concatenated UCS-2 parts read by their UDH: (references, total, text in order)."""
    references: set[int] = set()
    totals: set[int] = set()
    by_seq: dict[int, str] = {}
    for part in parts:
        assert part[:3] == bytes((0x05, 0x00, 0x03))
        references.add(part[3])
        totals.add(part[4])
        by_seq[part[5]] = part[6:].decode("utf-16-be")
    assert len(totals) == 1
    total = totals.pop()
    assert sorted(by_seq) == list(range(1, total + 1))
    return references, total, "".join(by_seq[seq] for seq in sorted(by_seq))


async def test_persian_otp_arrives_as_one_ucs2_submit_sm(smsc: Simulator, connect: Connect) -> None:
    """A Persian OTP travels as one UCS-2 submit_sm, no UDH, receipt requested."""
    transport = await connect(smsc.port)

    await transport.send(sms(PERSIAN_OTP))

    [got] = smsc.received
    assert (got.data_coding, got.esm_class, got.registered_delivery) == (8, 0, 1)
    assert got.short_message.decode("utf-16-be") == PERSIAN_OTP
    assert got.destination_addr == "989120000000"


async def test_ascii_text_arrives_as_gsm7(smsc: Simulator, connect: Connect) -> None:
    """A text within GSM 03.38 travels with data_coding 0, one septet per octet."""
    transport = await connect(smsc.port)

    await transport.send(sms("Your code: 048213"))

    [got] = smsc.received
    assert (got.data_coding, got.esm_class) == (0, 0)
    assert got.short_message == b"Your code: 048213"


async def test_validity_period_never_outlives_the_code(smsc: Simulator, connect: Connect) -> None:
    """The submit_sm on the wire carries a relative validity_period within the code's validity."""
    tap = WireTap(smsc.port)
    await tap.start()
    try:
        transport = await connect(tap.port)

        await transport.send(sms(valid_for=timedelta(seconds=120)))
    finally:
        await tap.stop()

    [submit] = tap.submits
    validity = submit.validity_period
    assert validity.endswith("000R")
    seconds = int(validity[4:6]) * 86_400 + int(validity[6:8]) * 3600
    seconds += int(validity[8:10]) * 60 + int(validity[10:12])
    assert 115 <= seconds <= 120
    assert submit.registered_delivery == 1


async def test_expired_code_is_refused_without_sending(smsc: Simulator, connect: Connect) -> None:
    """A code already past its validity raises TransportRejected and reaches no SMSC."""
    transport = await connect(smsc.port)

    with pytest.raises(TransportRejected):
        await transport.send(sms(valid_for=timedelta(seconds=-1)))

    assert smsc.received == []


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("QuickOTP", ("QuickOTP", 5, 0)),
        ("10004321", ("10004321", 2, 1)),
        ("+98210000", ("98210000", 1, 1)),
    ],
)
async def test_source_address_type_follows_the_sender(
    smsc: Simulator, connect: Connect, sender: str, expected: tuple[str, int, int]
) -> None:
    """Alphanumeric, national and international senders get TON/NPI 5/0, 2/1 and 1/1."""
    transport = await connect(smsc.port)

    await transport.send(sms(sender=sender))

    [got] = smsc.received
    assert (got.source_addr, got.source_addr_ton, got.source_addr_npi) == expected
    assert (got.dest_addr_ton, got.dest_addr_npi) == (1, 1)


async def test_long_persian_text_arrives_as_udh_parts(smsc: Simulator, connect: Connect) -> None:
    """300 Persian characters arrive as ceil(300/67) UDH parts that reassemble to the text."""
    transport = await connect(smsc.port)

    await transport.send(sms(LONG_PERSIAN))

    assert len(LONG_PERSIAN) == 300
    assert len(smsc.received) == 5 == domain_sms.segment(LONG_PERSIAN).parts
    assert {(r.esm_class, r.data_coding) for r in smsc.received} == {(0x40, 8)}
    assert all(len(r.short_message) <= 140 for r in smsc.received)
    references, total, text = reassemble([r.short_message for r in smsc.received])
    assert (len(references), total, text) == (1, 5, LONG_PERSIAN)


async def test_receipts_carry_the_send_receipt_id(
    smsc: Simulator, connect: Connect, reports: Reports
) -> None:
    """Each receipt reaches the sink as DELIVERED under its SendReceipt's provider_message_id."""
    transport = await connect(smsc.port)

    sent = [await transport.send(sms(message_id=i)) for i in range(5)]

    got = await reports.wait_for(5)
    assert sorted(r.provider_message_id for r in got) == sorted(s.provider_message_id for s in sent)
    assert {(r.transport, r.state) for r in got} == {("smpp", DeliveryState.DELIVERED)}
    # The SMSC answered "0000000A" and reported "a": one canonical spelling.
    assert {s.provider_message_id for s in sent} == {"1", "2", "3", "4", "5"}


async def test_receipt_before_its_submit_sm_resp_has_the_same_id(
    smsc: Simulator, connect: Connect, reports: Reports
) -> None:
    """A receipt the SMSC sends before the submit_sm_resp is reported under the same id."""
    smsc.receipt_first = True
    transport = await connect(smsc.port)

    sent = await transport.send(sms())

    [report] = await reports.wait_for(1)
    assert report.provider_message_id == sent.provider_message_id
    assert report.state is DeliveryState.DELIVERED


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("UNDELIV", DeliveryState.UNDELIVERED),
        ("EXPIRED", DeliveryState.EXPIRED),
        ("REJECTD", DeliveryState.REJECTED),
        ("ACCEPTD", DeliveryState.ACCEPTED),
        ("DELETED", DeliveryState.UNKNOWN),
    ],
)
@pytest.mark.parametrize("style", ["text", "tlv"])
async def test_receipt_states_map_from_text_and_tlvs(
    smsc: Simulator, connect: Connect, reports: Reports, stat: str, state: DeliveryState, style: str
) -> None:
    """Appendix B `stat:` words and message_state TLVs map onto DeliveryState."""
    smsc.stat, smsc.receipt_style = stat, style
    transport = await connect(smsc.port)

    sent = await transport.send(sms())

    [report] = await reports.wait_for(1)
    assert (report.provider_message_id, report.state) == (sent.provider_message_id, state)


async def test_receipts_of_every_part_map_to_the_first_part(
    smsc: Simulator, connect: Connect, reports: Reports
) -> None:
    """Receipts of all five parts of a long message carry the message's one provider id."""
    transport = await connect(smsc.port)

    sent = await transport.send(sms(LONG_PERSIAN))

    got = await reports.wait_for(5)
    assert [r.provider_message_id for r in got] == [sent.provider_message_id] * 5


async def test_permanent_refusal_raises_transport_rejected(
    smsc: Simulator, connect: Connect
) -> None:
    """ESME_RINVDSTADR (0x0B) is TransportRejected: retrying won't help."""
    smsc.refuse["989120000009"] = 0x0B
    transport = await connect(smsc.port)

    with pytest.raises(TransportRejected, match="ESME_RINVDSTADR"):
        await transport.send(sms(mobile="989120000009"))


async def test_smsc_system_error_raises_transport_unavailable(
    smsc: Simulator, connect: Connect
) -> None:
    """ESME_RSYSERR answered by the SMSC means not taken, so TransportUnavailable, not uncertain."""
    smsc.refuse["989120000009"] = 0x08
    transport = await connect(smsc.port)

    with pytest.raises(TransportUnavailable) as raised:
        await transport.send(sms(mobile="989120000009"))

    assert not isinstance(raised.value, DeliveryUncertain)


async def test_send_without_a_reachable_smsc_fails_in_time(connect: Connect) -> None:
    """With nothing listening, send raises TransportUnavailable after the timeout, no hang."""
    timer = ManualTimer()
    transport = await connect(free_port(), timer=timer, bound=False, timeout=0.5)
    sending = asyncio.create_task(transport.send(sms()))

    await timer.advance(0.45)
    assert not sending.done()  # still waiting for a bind
    await timer.advance(0.1)

    assert sending.done()
    with pytest.raises(TransportUnavailable, match="no SMPP bind is up"):
        await sending


async def test_an_unanswered_submit_sm_fails_in_time_and_the_bind_comes_back(
    smsc: Simulator, connect: Connect
) -> None:
    """
    An SMSC that takes a submit_sm and never answers it in time: the send raises
    DeliveryUncertain (it may have been taken) once `timeout` has passed and within the
    timer's resolution (a quarter of it here), and the bind rebinds for the next send.
    """
    timer = ManualTimer()
    transport = await connect(smsc.port, timer=timer, timeout=2)
    smsc.hold = 60.0  # an answer long after the timeout
    started = timer.now
    sending = asyncio.create_task(transport.send(sms()))
    async with asyncio.timeout(10):  # the submit_sm is out, its answer held
        while smsc.outstanding == 0:
            await asyncio.sleep(0.01)
    failed_at: list[float] = []
    sending.add_done_callback(lambda _: failed_at.append(timer.now))

    await timer.advance(2.5)

    with pytest.raises(DeliveryUncertain, match=r"no submit_sm_resp within 2 s"):
        await sending
    # The timeout, then the first response-timer check at or past it (0.5 s apart).
    assert 2.0 <= failed_at[0] - started <= 2.5 + 1e-6
    smsc.hold = 0.0
    async with asyncio.timeout(10):  # the rebind's back-off passed on the timer, no further:
        while transport.bound == 0:  # the bind itself, under way, has all the time it needs
            back_off = [when for when, delay in timer.pending() if delay < 1.0]
            if back_off:
                await timer.advance(back_off[0] - timer.now)
            await asyncio.sleep(0.01)
    assert isinstance(await transport.send(sms(message_id=2)), SendReceipt)
    assert len(smsc.binds) == 2


class SmscProcess:
    """The simulator in a process of its own, so a test can SIGKILL it and start it again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the simulator (receipts on) and wait until it listens."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SIMULATOR),
            "--port",
            str(self.port),
            "--receipts",
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        async with asyncio.timeout(10):
            assert await self._process.stdout.readline() == b"READY\n"

    async def kill(self) -> None:
        """SIGKILL: no unbind, no FIN from the SMPP layer, in-flight PDUs unanswered."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


@pytest.fixture
async def smsc_process() -> AsyncIterator[SmscProcess]:
    """A simulator process, killed at the end."""
    process = SmscProcess(free_port())
    await process.start()
    yield process
    await process.kill()


async def test_smsc_killed_mid_load_and_restarted(
    smsc_process: SmscProcess, connect: Connect
) -> None:
    """With the SMSC killed mid-load and restarted, it rebinds and every send gets an answer."""
    transport = await connect(smsc_process.port, timeout=2)
    outcomes: dict[int, SendReceipt | TransportUnavailable] = {}

    async def send(i: int) -> None:
        try:
            outcomes[i] = await transport.send(sms(message_id=i))
        except TransportUnavailable as error:  # DeliveryUncertain included
            outcomes[i] = error

    async with asyncio.timeout(20), asyncio.TaskGroup() as group:
        for i in range(300):
            if i == 100:
                await smsc_process.kill()
            if i == 150:
                await smsc_process.start()
            group.create_task(send(i))
            await asyncio.sleep(0.01)
    after = [await transport.send(sms(message_id=1000 + i)) for i in range(10)]

    assert sorted(outcomes) == list(range(300))
    assert all(isinstance(outcomes[i], SendReceipt) for i in range(90))
    assert all(isinstance(r, SendReceipt) for r in after)


async def test_throttling_slows_the_bind_and_loses_nothing(
    smsc: Simulator, connect: Connect
) -> None:
    """
    Under ESME_RTHROTTLED past 200 submit_sm/s, all 600 sends succeed, the bind having
    rested rather than retried into the limit. (How long the rests make it take, on a clock
    of its own: tests/adapters/transports/smpp/test_gate.py.)
    """
    smsc.throttle_tps = 200
    transport = await connect(smsc.port)

    async with asyncio.timeout(60):  # about three seconds; generous for a loaded machine
        sent = await asyncio.gather(*(transport.send(sms(message_id=i)) for i in range(600)))

    assert len({s.provider_message_id for s in sent}) == 600
    assert len(smsc.received) == 600
    assert smsc.throttled > 0  # the limit was reached, so the rests were needed
    assert smsc.throttled < 600  # backed off, rather than retrying into the limit


async def test_tps_caps_the_submit_rate(smsc: Simulator, connect: Connect) -> None:
    """With tps=20, twenty submits take a second: none goes out before its turn."""
    timer = ManualTimer()
    transport = await connect(smsc.port, timer=timer, tps=20, window=32)  # the rate alone
    await transport.send(sms())  # the next may go 0.05 s later
    sending = asyncio.gather(*(transport.send(sms(message_id=i)) for i in range(20)))

    for _ in range(18):
        await timer.advance(0.05)
    assert not sending.done()  # at 0.9 s, at most 19 of the 21 have had their turn
    assert len(smsc.received) <= 19
    await timer.advance(0.15)

    async with asyncio.timeout(10):
        await sending
    assert len(smsc.received) == 21


async def test_window_caps_outstanding_submits(smsc: Simulator, connect: Connect) -> None:
    """With window=4, the SMSC never holds more than four unanswered submit_sm, but does hold 4."""
    smsc.hold = 0.05
    transport = await connect(smsc.port, window=4)

    await asyncio.gather(*(transport.send(sms(message_id=i)) for i in range(40)))

    assert smsc.max_outstanding == 4


def _nodelay_of_sockets_to(port: int) -> list[int]:
    values: list[int] = []
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        with sock:
            if sock.family != socket.AF_INET or sock.type != socket.SOCK_STREAM:
                continue
            try:
                if sock.getpeername()[1] != port:
                    continue
            except OSError:
                continue
            values.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    return values


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd")
async def test_tcp_nodelay_is_on(smsc: Simulator, connect: Connect) -> None:
    """The bind's socket has TCP_NODELAY set (no ~40 ms Nagle tail on each answer)."""
    transport = await connect(smsc.port)

    await transport.send(sms())

    assert _nodelay_of_sockets_to(smsc.port) == [1]


async def test_several_binds_share_the_load(
    smsc: Simulator, connect: Connect, reports: Reports
) -> None:
    """binds=2 opens two sessions, and concurrent sends use both."""
    transport = await connect(smsc.port, binds=2)
    for _ in range(500):  # at most five seconds
        if transport.bound == 2:
            break
        await asyncio.sleep(0.01)

    await asyncio.gather(*(transport.send(sms(message_id=i)) for i in range(40)))

    assert len(smsc.binds) == 2
    assert len({r.session_id for r in smsc.received}) == 2
    assert len(await reports.wait_for(40)) == 40


async def test_pair_mode_sends_on_tx_and_receives_on_rx(
    smsc: Simulator, connect: Connect, reports: Reports
) -> None:
    """mode=pair binds a transmitter and a receiver; receipts come in on the receiver."""
    transport = await connect(smsc.port, mode="pair")
    # The simulator drops a receipt while its account has no receiver bound: wait for both.
    async with asyncio.timeout(5):
        while len(smsc.binds) < 2:
            await asyncio.sleep(0.01)

    sent = await transport.send(sms())

    assert sorted(bind.can_receive for bind in smsc.binds) == [False, True]
    [report] = await reports.wait_for(1)
    assert report.provider_message_id == sent.provider_message_id


async def test_aclose_unbinds(smsc: Simulator, reports: Reports) -> None:
    """aclose sends unbind, and a send after it raises TransportUnavailable."""
    transport = SmppTransport.from_url(
        f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=2", clock=WallClock()
    )
    await transport.start(reports)
    await until_bound(transport)
    await transport.send(sms())

    await transport.aclose()

    async with asyncio.timeout(5):
        await smsc.unbound.wait()
    with pytest.raises(TransportUnavailable):
        await transport.send(sms())


async def test_slow_receipt_sink_does_not_kill_the_bind(smsc: Simulator) -> None:
    """A sink slower than the receipts loses none, and the bind stays up while they wait."""
    delivered = 0

    async def slow_sink(report: DeliveryReport) -> None:
        nonlocal delivered
        await asyncio.sleep(0.001)
        delivered += 1

    transport = SmppTransport.from_url(
        f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=2", clock=WallClock()
    )
    await transport.start(slow_sink)
    await until_bound(transport)
    try:
        async with asyncio.timeout(20):
            await asyncio.gather(*(transport.send(sms(message_id=i)) for i in range(2500)))
            while delivered < 2500:
                await asyncio.sleep(0.05)
    finally:
        await transport.aclose()

    assert delivered == 2500
