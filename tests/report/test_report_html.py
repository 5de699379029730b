"""`socsim report` / `socsim compare`: self-contained HTML with embedded figures; one column per run."""

from __future__ import annotations

import argparse
import re

import pytest

from socsim.cli.report import register
from socsim.debug.tracefile import write_trace
from socsim.report.compare import compare_table
from socsim.report.report import build_compare, build_report
from socsim.runfolder.read import load_run

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!#|data:)|<link\b|<script\b|<iframe\b|@import"""
                      r"""|url\(\s*["']?(?!#|data:)|https?://(?!www\.w3\.org/(?:2000/svg|1999/xlink)")""",
                      re.IGNORECASE)
"""Anything a browser would fetch; the SVG and XLink namespace names are identifiers, never fetched."""


def socsim(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="socsim")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.fn(args)


def assert_self_contained(page: str) -> None:
    found = EXTERNAL.search(page)
    assert found is None, f"external reference: {page[found.start():found.start() + 80]!r}"


def test_report_command_writes_a_self_contained_page(run_dir, capsys):
    assert socsim("report", str(run_dir)) == 0
    page = (run_dir / "report.html").read_text()
    assert capsys.readouterr().out.strip().endswith("report.html")
    assert_self_contained(page)
    assert page.count("<svg") >= 5  # accuracy, energy, latency, device writes, conductances
    for text in ("TOPS/W", "energy per training image", "latency per training image", "final test accuracy",
                 "Mapping", "fc1", "Per opcode", "Per layer x phase", "adc_fom_fj",
                 "endurance margin"):
        assert text in page, text


def test_png_embedding_and_timeline_from_trace(run_dir, infer_result, tmp_path):
    # A trace.json in the run folder adds the utilization timeline (here: the inference program's jobs).
    write_trace(infer_result.timeline, run_dir / "trace.json", infer_result.cfg.clock_hz)
    try:
        run = load_run(run_dir)
        assert len(run.timeline) == len(infer_result.timeline)
        page = build_report(run, embed="png")
    finally:
        (run_dir / "trace.json").unlink()
    assert_self_contained(page)
    assert "<svg" not in page
    assert page.count('src="data:image/png;base64,') == 7  # 6 figures and the timeline
    assert "trace.json" in page


def test_report_export_writes_tables_and_figures(run_dir, tmp_path):
    out = tmp_path / "export"
    assert socsim("report", str(run_dir), "-o", str(tmp_path / "r.html"), "--export", str(out)) == 0
    names = {p.name for p in out.iterdir()}
    for stem in ("epochs", "components", "layers", "opcodes", "actions"):
        assert {f"{stem}.csv", f"{stem}.json"} <= names
    for stem in ("accuracy", "energy_breakdown", "latency_breakdown", "device_writes", "conductances"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ideal_run_report(ideal_run_dir):
    page = build_report(load_run(ideal_run_dir))
    assert_self_contained(page)
    assert "no per-device write counters" in page and "Weights stored by the ideal model" in page


def test_compare_has_one_column_per_run(run_dir, ideal_run_dir, tmp_path, capsys):
    runs = [load_run(run_dir), load_run(ideal_run_dir)]
    table = compare_table(runs)
    assert list(table.columns) == ["mlp-endurance", "mlp-ideal", "mlp-ideal / mlp-endurance"]
    assert table.attrs["runs"] == ["mlp-endurance", "mlp-ideal"]
    assert table.loc["config", "mlp-ideal"] == "ideal"
    assert table.loc["epochs"].tolist()[:2] == [2, 1]
    html_out, csv_out = tmp_path / "cmp.html", tmp_path / "cmp.csv"
    assert socsim("compare", str(run_dir), str(ideal_run_dir), "-o", str(html_out), "--csv", str(csv_out)) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["mlp-endurance", "mlp-ideal", "mlp-ideal", "/", "mlp-endurance"]
    assert "final_test_accuracy" in out and "tops_per_w_tile" in out
    assert "config: tiles.physics.model" in out
    page = html_out.read_text()
    assert_self_contained(page)
    assert "<th>mlp-endurance</th><th>mlp-ideal</th><th>mlp-ideal / mlp-endurance</th>" in page
    assert page.count("<svg") == 3  # accuracy, energy, latency
    assert "latency per training image" in page
    assert csv_out.read_text().splitlines()[0] == "quantity,mlp-endurance,mlp-ideal,mlp-ideal / mlp-endurance"


def test_compare_labels_runs_with_the_same_folder_name_by_path(run_dir, tmp_path):
    import shutil
    twin = tmp_path / "other" / run_dir.name
    shutil.copytree(run_dir, twin)
    table = compare_table([load_run(run_dir), load_run(twin)], ratios=False)
    assert len(set(table.columns)) == 2
    assert table.iloc[:, 0].tolist() == table.iloc[:, 1].tolist()
    assert "<svg" in build_compare([load_run(run_dir), load_run(twin)])


def test_not_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        load_run(tmp_path)


def test_socsim_main_runs_report_once_wired(run_dir, tmp_path):
    from socsim.cli import build_parser, main
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert "report" in commands and "compare" in commands
    out = tmp_path / "main.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000
    assert main(["report", str(tmp_path)]) == 2  # not a run folder: error message, exit status 2


def test_compare_without_output_writes_into_the_first_run_folder(run_dir, ideal_run_dir, tmp_path, monkeypatch,
                                                                 capsys):
    monkeypatch.chdir(tmp_path)
    assert socsim("compare", str(run_dir), str(ideal_run_dir)) == 0
    assert list(tmp_path.iterdir()) == []  # nothing in the working folder
    page = run_dir / "compare.html"
    try:
        assert capsys.readouterr().out.rstrip().endswith(f"comparison -> {page}")
        assert_self_contained(page.read_text())
    finally:
        page.unlink()
