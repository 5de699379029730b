"""Run folders are never mixed: --out refuses a run unless --force or --resume; --resume keeps the run's own
config (config.json), refuses conflicting arguments and a changed graph; files are written 0644 and atomically."""

from __future__ import annotations

import shutil
import stat

import numpy as np
import pandas as pd
import pytest

from socsim.base.fileio import atomic_write, clean_temporaries
from socsim.cli import main
from socsim.runfolder.files import CHECKPOINT, CONFIG, METRICS, RUN_ARGS, read_checkpoint
from tests.reliability.conftest import ROOT

MLP = str(ROOT / "programs" / "mlp.toml")
TINY = ["--dataset", "digits", "--train-examples", "128", "--test-examples", "64", "--quiet"]


def train(*args: str) -> int:
    return main(["train", *args])


def test_out_over_a_run_is_refused_and_leaves_it_untouched(run_copy, capsys):
    before = {p.name: p.read_bytes() for p in run_copy.iterdir()}
    assert train(MLP, "--config", "wu2023", *TINY, "--epochs", "1", "--out", str(run_copy)) == 2
    err = capsys.readouterr().err
    assert f"{run_copy}: already holds a run" in err and "--resume" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in run_copy.iterdir() if p.name != ".lock"} == before


def test_force_starts_over_and_leaves_no_file_of_the_old_run(run_copy, tmp_path):
    (run_copy / "drift.csv").write_text("old\n")
    (run_copy / f".{CHECKPOINT}.tmp-socsim-abc12345").write_bytes(b"half")  # a kill during a checkpoint write
    (run_copy / "notes.txt").write_text("mine\n")  # not a run file: kept
    assert train(MLP, "--config", "wu2023", *TINY, "--epochs", "1", "--out", str(run_copy), "--force") == 0
    assert not (run_copy / "drift.csv").exists() and not list(run_copy.glob(".*.tmp-*"))
    assert (run_copy / "notes.txt").read_text() == "mine\n"
    assert pd.read_json(run_copy / CONFIG, typ="series")["name"] == "wu2023"
    assert len(pd.read_csv(run_copy / METRICS)) == 1


def test_out_over_a_folder_that_is_not_a_run_is_refused_even_with_force(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("precious\n")
    assert train(MLP, "--config", "ideal", *TINY, "--epochs", "1", "--out", str(tmp_path), "--force") == 2
    assert "holds files that are not a run's (thesis.tex)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


CONFLICTS = {
    "config": (["--config", "wu2023"], "--config wu2023 (the run has ideal)"),
    "dataset": (["--dataset", "mnist5k"], "--dataset mnist5k (the run has digits)"),
    "graph": ([str(ROOT / "programs" / "lenet5.toml")], "GRAPH"),
    "test examples": (["--test-examples", "32"], "--test-examples 32 (the run has 64)"),
    "force": (["--force"], "--force with --resume"),
}


@pytest.mark.parametrize("extra, message", CONFLICTS.values(), ids=CONFLICTS.keys())
def test_resume_refuses_conflicting_arguments(run_copy, capsys, extra, message):
    assert train("--resume", str(run_copy), *extra) == 2
    assert message in capsys.readouterr().err


def test_resume_uses_the_saved_config_not_the_edited_file(tmp_path):
    """A run started from my.toml, which is then edited: the resumed run trains with the config it saved and
    ends bit-identical to an uninterrupted run of the original file."""
    cfg = tmp_path / "my.toml"
    original = 'base = "ideal"\n[train]\nlr = 0.01\n'
    cfg.write_text(original)
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert train(MLP, "--config", str(cfg), *TINY, "--epochs", "2", "--out", str(whole)) == 0
    assert train(MLP, "--config", str(cfg), *TINY, "--epochs", "1", "--out", str(part)) == 0
    cfg.write_text(original.replace("0.01", "0.5"))  # edited after the run started
    assert train("--resume", str(part), "--epochs", "2", "--quiet") == 0
    drop = lambda df: df.drop(columns=["wall_s"])  # noqa: E731
    pd.testing.assert_frame_equal(drop(pd.read_csv(part / METRICS)), drop(pd.read_csv(whole / METRICS)),
                                  check_exact=True)
    for name, values in read_checkpoint(whole).trainer.memory.items():
        np.testing.assert_array_equal(read_checkpoint(part).trainer.memory[name], values, err_msg=name)
    assert (part / "ledger.csv").read_bytes() == (whole / "ledger.csv").read_bytes()


def test_resume_refuses_a_graph_that_changed(tmp_path, capsys):
    graph = tmp_path / "mlp.toml"
    shutil.copy(MLP, graph)
    assert train(str(graph), "--config", "ideal", *TINY, "--epochs", "1", "--out", str(tmp_path / "r")) == 0
    graph.write_text(graph.read_text().replace('type = "relu"', 'type = "tanh"'))
    assert train("--resume", str(tmp_path / "r"), "--epochs", "2", "--quiet") == 2
    assert "the graph file changed since the run started" in capsys.readouterr().err


RUN_JSON = {
    "a list": "[1, 2]",
    "an extra key": None,
    "a wrong type": None,
    "not JSON": "{graph: ",
    "not UTF-8": b"\xff\xfe{}",
}


@pytest.mark.parametrize("kind", RUN_JSON)
def test_damaged_run_json_names_the_file(run_copy, capsys, kind):
    import json
    data = json.loads((run_copy / RUN_ARGS).read_text())
    text = {"an extra key": json.dumps({**data, "lr": 1}), "a wrong type": json.dumps({**data, "epochs": "2"})
            }.get(kind, RUN_JSON[kind])
    (run_copy / RUN_ARGS).write_bytes(text if isinstance(text, bytes) else text.encode())
    assert train("--resume", str(run_copy)) == 2
    err = capsys.readouterr().err
    assert f"{run_copy / RUN_ARGS}: " in err and "Traceback" not in err
    expect = {"a list": "expected a JSON object", "an extra key": "unknown key 'lr'",
              "a wrong type": "epochs: expected int", "not JSON": "not valid JSON", "not UTF-8": "not UTF-8"}[kind]
    assert expect in err


def test_files_are_created_0644_and_temporaries_are_cleaned(tmp_path, tiny_run):
    import os
    umask = os.umask(0o022)
    os.umask(umask)
    want = 0o666 & ~umask
    for path in tiny_run.iterdir():
        if path.name != ".lock":
            assert stat.S_IMODE(path.stat().st_mode) == want, path.name
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError):  # the writer fails half-way: no temporary stays, the old file stays
        target.write_text("old")
        atomic_write(target, lambda fh: (fh.write("new"), (_ for _ in ()).throw(RuntimeError("kill"))), binary=False)
    assert target.read_text() == "old" and not list(tmp_path.glob(".*.tmp-*"))
    (tmp_path / ".x.csv.tmp-socsim-12345678").write_text("left by a SIGKILL")
    assert [p.name for p in clean_temporaries(tmp_path)] == [".x.csv.tmp-socsim-12345678"]


def test_a_rename_is_followed_by_an_fsync_of_the_folder(tmp_path, monkeypatch):
    import os

    import socsim.base.fileio as fileio
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real(fd)
    monkeypatch.setattr(fileio.os, "fsync", spy)
    fileio.write_text(tmp_path / "a.txt", "x")
    assert synced == [False, True]  # the file's data, then the folder holding the new name


def test_report_compare_and_export_write_every_file_atomically(run_copy, tmp_path, monkeypatch, capsys):
    import os
    written = []  # every file renamed into place: an atomic write's last step
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (written.append(str(dst)), real(src, dst)))
    assert main(["report", str(run_copy), "--export", str(tmp_path / "export")]) == 0
    assert main(["compare", str(run_copy), str(run_copy), "-o", str(tmp_path / "c.html"), "--csv",
                 str(tmp_path / "c.csv")]) == 0
    outputs = [str(run_copy / "report.html"), str(tmp_path / "c.html"), str(tmp_path / "c.csv"),
               *(str(p) for p in (tmp_path / "export").iterdir())]
    assert len(outputs) > 10 and sorted(set(written) & set(outputs)) == sorted(outputs)
    assert not list(tmp_path.rglob(".*.tmp-*")) and not list(run_copy.glob(".*.tmp-*"))


def test_resume_to_fewer_epochs_than_done_is_refused(run_copy, capsys):
    assert train("--resume", str(run_copy), "--epochs", "1") == 0  # as many as done: nothing to train
    capsys.readouterr()
    state = read_checkpoint(run_copy)
    state.trainer.epoch, state.metrics = 2, state.metrics * 2
    from socsim.runfolder.files import write_run_state
    write_run_state(run_copy / CHECKPOINT, state)
    assert train("--resume", str(run_copy), "--epochs", "1") == 2
    assert "has trained 2 epochs already; --epochs 1 asks for fewer" in capsys.readouterr().err


def test_resume_removes_the_temporaries_of_a_killed_write(run_copy):
    left = run_copy / f".{CHECKPOINT}.tmp-socsim-k1ll3d00"
    left.write_bytes(b"half a checkpoint")
    assert train("--resume", str(run_copy), "--epochs", "1") == 0
    assert not left.exists() and read_checkpoint(run_copy).epoch == 1
