"""route URLs re-sealed with AES-256-GCM

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

Route URLs sealed by the first schema (version byte 0x01: HMAC-SHA256 in counter mode,
encrypt-then-MAC) are opened with the routes key and sealed again as version 0x02
(AES-256-GCM, adapters/store/routes.py). The key comes from `quickotp migrate`, which
derives it from QUICKOTP_SECRET_KEY; a database with such routes cannot be upgraded without
it. The old construction is kept here, and only here, to read what it sealed.
"""

import hashlib
import hmac
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from quickotp.adapters.store.routes import seal

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEGACY = b"\x01"
_LEGACY_NONCE = 16
_LEGACY_TAG = 32


def legacy_unseal(key: bytes, name: str, sealed: bytes) -> str:
    """What the first schema's seal made of a route's URL; ValueError if it does not open."""
    if len(sealed) < 1 + _LEGACY_NONCE + _LEGACY_TAG or sealed[:1] != _LEGACY:
        raise ValueError(f"route {name}: not a version 1 seal")
    nonce = sealed[1 : 1 + _LEGACY_NONCE]
    ciphertext, tag = sealed[1 + _LEGACY_NONCE : -_LEGACY_TAG], sealed[-_LEGACY_TAG:]
    enc = hmac.digest(key, b"enc", hashlib.sha256)
    mac = hmac.digest(key, b"mac", hashlib.sha256)
    label = name.encode()
    signed = _LEGACY + nonce + len(label).to_bytes(2, "big") + label + ciphertext
    if not hmac.compare_digest(tag, hmac.digest(mac, signed, hashlib.sha256)):
        raise ValueError(
            f"route {name}: its stored URL does not open with this QUICKOTP_SECRET_KEY"
        )
    blocks = (len(ciphertext) + 31) // 32
    stream = b"".join(
        hmac.digest(enc, nonce + i.to_bytes(4, "big"), hashlib.sha256) for i in range(blocks)
    )
    return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=False)).decode()


def upgrade() -> None:
    routes = sa.table(
        "routes",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("url_sealed", sa.LargeBinary),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(routes.c.id, routes.c.name, routes.c.url_sealed)).all()
    legacy = [row for row in rows if bytes(row.url_sealed)[:1] == _LEGACY]
    if not legacy:
        return
    key = context.config.attributes.get("route_key")
    if key is None:
        raise RuntimeError(
            "stored routes must be re-sealed with the key from QUICKOTP_SECRET_KEY: "
            "run `quickotp migrate` with the gateway's settings"
        )
    for row in legacy:
        url = legacy_unseal(key, row.name, bytes(row.url_sealed))
        bind.execute(
            routes.update().where(routes.c.id == row.id).values(url_sealed=seal(key, row.name, url))
        )


def downgrade() -> None:
    raise NotImplementedError("route URLs sealed with AES-256-GCM are not turned back")
