"""Who runs the command: the operator at this terminal, as the audit log names them."""

from __future__ import annotations

import getpass
import os

from quickotp.domain.models import Console
from quickotp.domain.text import text_problem


def console() -> Console:
    """The operator at this terminal, by their login (`cli:<login>` in the audit log)."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        login = ""
    if not login or text_problem(login):
        login = f"uid {os.getuid()}"
    return Console(login[:64])
