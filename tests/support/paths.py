"""Where things are: every test, script and hook takes its paths from here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
EXPERIMENTS = DOCS / "experiments"
NETGUARD = ROOT / "tests" / "support" / "netguard"
