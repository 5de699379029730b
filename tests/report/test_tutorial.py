"""docs/tutorial.md: the trace example runs and prints what the page shows (rerun and paste when it changes)."""

from __future__ import annotations

import contextlib
import io
import os
import re

from tests.report.conftest import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the tutorial, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", TUTORIAL.read_text(), flags=re.S | re.M)


def test_trace_example_output_is_current(tmp_path):
    found = blocks()
    i = next(i for i, (lang, text) in enumerate(found) if lang == "python" and "write_trace" in text)
    code, expected = found[i][1], found[i + 1][1]
    (tmp_path / "programs").symlink_to(ROOT / "programs")
    (tmp_path / "runs").mkdir()
    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(TUTORIAL), "exec"), {"__name__": "tutorial"})
    finally:
        os.chdir(cwd)
    assert out.getvalue() == expected, "docs/tutorial.md trace example is stale: rerun it and paste the output"
    assert (tmp_path / "runs" / "mlp_infer.trace.json").is_file()
