"""Where the checkout is, for tests of any tier (importing it needs neither Django nor a server)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
