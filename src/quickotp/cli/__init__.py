"""
The `quickotp` command, a module for each family of commands:

* command.py   the parser, and running a command: logging, the one-line errors, exit codes
* args.py      the types argparse checks arguments with, and how subcommands are declared
* output.py    a command's answer: its sentence, or one JSON document with --json
* console.py   who runs it, as the audit log names them (`cli:<login>`)
* serve.py     serve and dispatch
* demo.py      what serve does before it starts: the schema, and dev mode's demo account
* database.py  migrate, prune, backup
* operator.py  accounts, lines, tokens, patterns, credit, operators
* routes.py    routes
* messages.py  messages
* client.py    send and verify, through the Python client against a running gateway
"""

from quickotp.cli.command import _parser, main
from quickotp.cli.serve import forwarding

__all__ = ["_parser", "forwarding", "main"]
