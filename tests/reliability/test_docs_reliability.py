"""docs/reliability.md names tests that exist: every ``test_*`` it cites is defined in tests/."""

from __future__ import annotations

import re

from tests.reliability.conftest import ROOT


def test_every_test_the_page_cites_exists():
    page = (ROOT / "docs" / "reliability.md").read_text()
    cited = set(re.findall(r"\b(test_\w+)\b(?!\.py)", page)) - {"test_fuzz_"}
    defined = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", path.read_text(), flags=re.M))
    files = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    missing_files = {f for f in re.findall(r"\b(test_\w+\.py)\b", page) if f not in files and "*" not in f}
    assert not missing_files, f"docs/reliability.md cites missing test files {sorted(missing_files)}"
    assert len(cited) > 40, "docs/reliability.md should cite the tests of every case"
    assert not cited - defined, f"docs/reliability.md cites undefined tests {sorted(cited - defined)}"
