"""`python -m quickotp` runs the command line."""

from quickotp.cli import main

raise SystemExit(main())
