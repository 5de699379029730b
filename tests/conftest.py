"""Options of the whole suite: ``--update-docs`` rewrites the docs' recorded output instead of comparing it."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-docs", action="store_true", default=False,
                     help="rewrite the recorded output of README.md and docs/*.md and the generated pages "
                          "(docs/isa.md, docs/config.md, generated tables) instead of comparing them")


@pytest.fixture
def update_docs(request: pytest.FixtureRequest) -> bool:
    """True when the run regenerates the docs (``--update-docs``)."""
    return bool(request.config.getoption("--update-docs"))
