"""A run folder keeps the mapping its programs were compiled with (mapping.json): the report reads it and needs
neither the graph file nor the compiler, so a run folder moved elsewhere reports the same."""

from __future__ import annotations

import json
import shutil

from socsim.cli import main
from socsim.compiler import load_graph
from socsim.compiler.lower.lowering import compile_training
from socsim.config.soc import load_config
from socsim.report.devices import placed_masks
from socsim.report.headline import headline
from socsim.report.report import build_report
from socsim.runfolder.files import MAPPING, RUN_ARGS
from socsim.runfolder.read import load_run


def test_training_writes_the_placement_its_programs_use(run_dir):
    record = json.loads((run_dir / MAPPING).read_text())
    args = json.loads((run_dir / RUN_ARGS).read_text())
    cfg = load_config(str(run_dir.parent / "endurance.toml"))
    compiled = compile_training(load_graph(args["graph"]), cfg, args["train_examples"], args["test_examples"])
    assert [(b["layer"], b["tile"], b["rows"], b["cols"]) for b in record["placement"]["blocks"]] == \
        [(b.layer, b.tile, b.rows, b.cols) for b in compiled.placement.blocks]
    assert record["placement"]["table"] == compiled.placement.table()
    assert "memory plan of the compiled programs" in record["text"]


def test_a_moved_run_folder_reports_the_mapping_without_its_graph(run_dir, tmp_path):
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(run_dir, moved)
    args = json.loads((moved / RUN_ARGS).read_text())
    args["graph"] = str(tmp_path / "no-such-graph.toml")  # the graph file is gone
    (moved / RUN_ARGS).write_text(json.dumps(args))
    before, after = load_run(run_dir), load_run(moved)
    assert placed_masks(after).keys() == placed_masks(before).keys()
    assert headline(after).geometry_macs_per_image == headline(before).geometry_macs_per_image == 64 * 32 + 32 * 10
    page = build_report(after)
    assert "placement used by the lowering" in page and "not recorded" not in page
    assert main(["report", str(moved), "-o", str(tmp_path / "r.html")]) == 0


def test_a_run_without_mapping_json_says_so(run_dir, tmp_path):
    old = tmp_path / "old-run"
    shutil.copytree(run_dir, old)
    (old / MAPPING).unlink()
    run = load_run(old)
    assert run.mapping is None and placed_masks(run) is None and headline(run).geometry_macs_per_image is None
    assert "no mapping.json in the run folder" in build_report(run)

