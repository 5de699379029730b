"""Every recorded command and example of README.md and docs/*.md prints what the page shows.

Regenerate after a change that moves a number: ``make docs`` (``pytest tests/docs --update-docs``).
"""

from __future__ import annotations

import difflib

import pytest

from tests.docs.recorded import PAGES, ROOT, Command, masked, problems, recorded, rewritten, run, sandbox, status_of

HINT = "run `make docs` (pytest tests/docs --update-docs) to record the new output"


def _where(page, item) -> str:
    line = (item.block.start if isinstance(item, Command) else item.output.start) + 1
    what = item.shell if isinstance(item, Command) else "python example"
    return f"{page.relative_to(ROOT)}:{line}: {what}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_recorded_output_is_current(page, tmp_path, update_docs):
    lines = page.read_text().splitlines()
    items = recorded(lines)
    if not items:
        return
    env = sandbox(tmp_path)
    outputs, stale = [], []
    for item in items:
        new = run(item, tmp_path, env)
        outputs.append((item, new))
        if masked(new) != masked(item.expected):
            diff = difflib.unified_diff(item.expected, new, "recorded", "now", lineterm="", n=1)
            stale.append((item, new, _where(page, item) + "\n" + "\n".join(diff)))
    if update_docs:
        changed_status = [w for item, new, w in stale if status_of(new) != status_of(item.expected)]
        assert not changed_status, "exit status changed; fix the command or the page by hand:\n" + \
            "\n\n".join(changed_status)
        if stale:
            page.write_text("\n".join(rewritten(lines, outputs)) + "\n")
        return
    assert not stale, f"{len(stale)} recorded output(s) differ; {HINT}:\n\n" + "\n\n".join(w for *_, w in stale)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shown_commands_are_run_or_marked(page):
    assert problems(page) == []


def test_no_page_points_outside_the_repository():
    for page in PAGES:
        text = page.read_text()
        assert "../shared" not in text and "shared/DESIGN" not in text, page
