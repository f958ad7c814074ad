"""
Who may do an operator's work, and the audit log's line for what they did: one rule for
every operator use case (services/desk.py, services/routes.py), from the panel or the
command line.
"""

from __future__ import annotations

import logging
from datetime import datetime

from quickotp.domain.errors import NotAllowed
from quickotp.domain.models import Actor, Console, Role
from quickotp.ports.people import IdentityStore

log = logging.getLogger(__name__)


def require_operator(actor: Actor | Console) -> None:
    """A panel user who is no operator may not; the command line may (it holds the key)."""
    if isinstance(actor, Actor) and actor.user.role is not Role.OPERATOR:
        raise NotAllowed(f"user {actor.user.id} is not an operator")


async def write_audit(
    identity: IdentityStore,
    now: datetime,
    actor: Actor | Console,
    action: str,
    target: str,
    detail: str = "",
) -> None:
    """One audit line: the operator's email (or `cli:<login>`), and in the panel, from where."""
    if isinstance(actor, Console):
        actor_id, who, ip, logged = None, actor.name, None, actor.name
    else:
        actor_id, who, ip = actor.user.id, actor.user.email, actor.ip
        logged = f"{actor.user.role} {actor.user.id}"
    await identity.add_audit(
        actor_id=actor_id, actor=who, action=action, target=target, detail=detail, ip=ip, now=now
    )
    log.info("%s: %s %s", logged, action, target)
