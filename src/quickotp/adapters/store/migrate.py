"""
Schema migrations with Alembic, run on the gateway's own engine (SQLite or PostgreSQL).
"""

from __future__ import annotations

from enum import StrEnum

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from quickotp.adapters.store.engine import Engines


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "quickotp.adapters.store:migrations")
    return config


async def upgrade(
    engines: Engines, revision: str = "head", *, route_key: bytes | None = None
) -> None:
    """
    Bring the schema up to `revision` (the newest by default). `route_key` opens and re-seals
    stored route URLs where a revision changes how they are sealed (0002); a database
    without routes needs none.
    """

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["route_key"] = route_key
        command.upgrade(config, revision)

    async with engines.write.begin() as conn:
        await conn.run_sync(run)


class SchemaState(StrEnum):
    CURRENT = "current"  # at this code's newest revision
    BEHIND = "behind"  # empty, or at an older revision: `quickotp migrate` brings it up
    NEWER = "newer"  # at a revision this code does not know: a newer QuickOTP made it


async def schema_state(engines: Engines) -> SchemaState:
    """Where the database's schema stands against this code's migrations."""

    def check(connection: Connection) -> SchemaState:
        scripts = ScriptDirectory.from_config(alembic_config())
        known = {script.revision for script in scripts.walk_revisions()}
        found = set(MigrationContext.configure(connection).get_current_heads())
        if found - known:
            return SchemaState.NEWER
        return SchemaState.CURRENT if found == set(scripts.get_heads()) else SchemaState.BEHIND

    async with engines.read.connect() as conn:
        return await conn.run_sync(check)


async def is_current(engines: Engines) -> bool:
    """Whether the database's schema is at the newest revision."""

    def check(connection: Connection) -> bool:
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        return set(MigrationContext.configure(connection).get_current_heads()) == heads

    async with engines.read.connect() as conn:
        return await conn.run_sync(check)
