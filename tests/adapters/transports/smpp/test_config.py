"""
SmppConfig.from_url: the route URL, its defaults, and clear refusals that never show the password.
"""

from __future__ import annotations

import pytest

from quickotp.adapters.transports.smpp.transport import SmppConfig
from quickotp.domain.errors import ConfigurationError


def test_full_url() -> None:
    """Every query key lands in its field; user and password are percent-decoded."""
    config = SmppConfig.from_url(
        "smpp://otp%40shop:p%3Ass@smsc.example:2776?window=20&tps=50&binds=2&mode=pair"
        "&system_type=OTP&source_ton=5&source_npi=0&dest_ton=1&dest_npi=1&enquire_link=15"
        "&timeout=5&reconnect_max=60&receipt_ids=hex2dec"
    )

    assert config == SmppConfig(
        host="smsc.example",
        port=2776,
        system_id="otp@shop",
        password="p:ss",
        system_type="OTP",
        window=20,
        tps=50.0,
        binds=2,
        mode="pair",
        source_ton=5,
        source_npi=0,
        dest_ton=1,
        dest_npi=1,
        enquire_link=15.0,
        timeout=5.0,
        reconnect_max=60.0,
        receipt_ids="hex2dec",
    )


def test_defaults() -> None:
    """A bare URL means port 2775, one transceiver, window 10, no rate cap."""
    config = SmppConfig.from_url("smpp://otp:secret@10.0.0.5")

    assert (config.port, config.mode, config.binds, config.window, config.tps) == (
        2775,
        "trx",
        1,
        10,
        0.0,
    )
    assert (config.source_ton, config.dest_ton, config.timeout) == (None, 1, 10.0)


def test_password_stays_out_of_repr() -> None:
    """The config's repr, which may end up in a log, leaves the password out."""
    assert "hunter2" not in repr(SmppConfig.from_url("smpp://otp:hunter2@h"))


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://otp:hunter2@h", "smpp://"),
        ("smpp://otp:hunter2@", "no host"),
        ("smpp://otp@h", "no password"),
        ("smpp://:hunter2@h", "system_id"),
        ("smpp://sixteen-chars-id:hunter2@h", "system_id"),
        ("smpp://otp:hunter2@h:99999", "port"),
        ("smpp://otp:hunter2@h/path", "path"),
        ("smpp://otp:hunter2@h?window=0", "window"),
        ("smpp://otp:hunter2@h?window=ten", "window"),
        ("smpp://otp:hunter2@h?mode=rx", "mode"),
        ("smpp://otp:hunter2@h?source_ton=9", "source_ton"),
        ("smpp://otp:hunter2@h?timeout=60", "timeout"),
        ("smpp://otp:hunter2@h?receipt_ids=oct", "receipt_ids"),
        ("smpp://otp:hunter2@h?windw=5", "windw"),
        ("smpp://otp:hunter2@h?tps=1&tps=2", "twice"),
    ],
)
def test_bad_url_is_refused_clearly(url: str, complaint: str) -> None:
    """A bad route URL raises ConfigurationError naming the problem, not the password."""
    with pytest.raises(ConfigurationError, match=complaint) as raised:
        SmppConfig.from_url(url)

    assert "hunter2" not in str(raised.value)
