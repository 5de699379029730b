"""Multi-seed training (socsim train --seeds N, socsim.train(seeds=N)): the seed folders, summary.csv, resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import socsim
from socsim.cli import main
from socsim.host.seeds import summarize
from socsim.runfolder.seeds import SUMMARY

TINY = dict(dataset="digits", epochs=1, train_examples=64, test_examples=32)
CLI = ["train", "programs/mlp.toml", "--dataset", "digits", "--train-examples", "64", "--test-examples", "32",
       "--seeds", "2", "--baseline", "--quiet"]
HEAD = ["epoch", "test_accuracy_mean", "test_accuracy_std", "baseline_accuracy_mean", "baseline_accuracy_std", "n"]


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    return socsim.train("programs/mlp.toml", out=tmp_path_factory.mktemp("api") / "out", seeds=2, baseline=True,
                        **TINY)


def _metrics(out, i):
    return pd.read_csv(out / f"seed-{i}" / "metrics.csv")


def test_two_seeds_give_two_run_folders_with_different_numbers_and_their_summary(api_run):
    out = api_run.path
    configs = [json.loads((out / f"seed-{i}" / "config.json").read_text()) for i in range(2)]
    assert [c["seed"] for c in configs] == [0, 1]
    assert [c["train"]["init_seed"] for c in configs] == [1, 1001]
    m0, m1 = _metrics(out, 0), _metrics(out, 1)
    assert (m0["test_accuracy"].iloc[0], m0["baseline_accuracy"].iloc[0]) != \
        (m1["test_accuracy"].iloc[0], m1["baseline_accuracy"].iloc[0])
    summary = pd.read_csv(out / SUMMARY)
    assert list(summary.columns[:6]) == HEAD
    for key in ("test_accuracy", "baseline_accuracy", "train_energy_pj", "cells_written"):
        values = np.array([m0[key].iloc[0], m1[key].iloc[0]])
        assert summary[f"{key}_mean"].iloc[0] == pytest.approx(values.mean(), rel=1e-12)
        assert summary[f"{key}_std"].iloc[0] == pytest.approx(values.std(ddof=1), rel=1e-12, abs=1e-300)
    assert summary["n"].tolist() == [2]
    assert socsim.train is not None and set(api_run.tables()) == {"summary", "seeds"}
    assert "accuracy" in api_run.figures()


def test_cli_agrees_with_the_api_and_resumes_every_seed(api_run, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main([*CLI, "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    api, cli = pd.read_csv(api_run.path / SUMMARY), pd.read_csv(out / SUMMARY)
    timing = [c for c in api.columns if c.startswith("wall_s")]
    pd.testing.assert_frame_equal(api.drop(columns=timing), cli.drop(columns=timing))
    assert f"test acc {api['test_accuracy_mean'].iloc[0]:.2%} +- {api['test_accuracy_std'].iloc[0]:.2%}" in printed
    first = [_metrics(out, i) for i in range(2)]
    shutil.rmtree(out / "seed-1")  # as if killed before seed 1 began: the resume starts it
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    again = [_metrics(out, i) for i in range(2)]
    for before, after in zip(first, again):
        assert after["epoch"].tolist() == [1, 2]
        pd.testing.assert_frame_equal(before.drop(columns="wall_s"), after.iloc[:1].drop(columns="wall_s"))
    summary = pd.read_csv(out / SUMMARY)
    pd.testing.assert_frame_equal(summary, summarize(again))
    assert summary["n"].tolist() == [2, 2]
    assert main(["report", str(out)]) == 0 and "Accuracy over the seeds" in (out / "report.html").read_text()


def test_a_multi_seed_folder_is_refused_without_force(api_run, capsys):
    assert main([*CLI, "--out", str(api_run.path)]) == 2
    assert "already holds a multi-seed run" in capsys.readouterr().err
    assert main(["train", "--resume", str(api_run.path / "seed-0"), "--seeds", "2"]) == 2
    assert "holds no multi-seed run (seeds.json)" in capsys.readouterr().err


def test_a_new_run_folder_and_a_new_multi_seed_folder_are_checked_by_one_rule(tmp_path):
    """Fresh: absent or empty. Refused: not a folder; holding a run (unless force); holding only others' files."""
    from socsim.base.errors import InputError
    from socsim.runfolder.files import check_fresh_run
    from socsim.runfolder.seeds import check_fresh_seeds

    for check in (check_fresh_run, check_fresh_seeds):
        check(tmp_path / "absent", False)
        check(tmp_path, False)
    (tmp_path / "f").write_text("x")
    for check in (check_fresh_run, check_fresh_seeds):
        with pytest.raises(InputError, match="exists and is not a folder"):
            check(tmp_path / "f", True)
    with pytest.raises(InputError, match=r"holds files that are not a run's \(f\); choose a new or empty folder"):
        check_fresh_run(tmp_path, True)
    with pytest.raises(InputError, match=r"holds files that are not a multi-seed run's \(f\)"):
        check_fresh_seeds(tmp_path, True)
    (tmp_path / "metrics.csv").write_text("epoch\n")
    (tmp_path / "seeds.json").write_text("{}")
    with pytest.raises(InputError, match=r"already holds a run \(metrics.csv\); continue it with --resume"):
        check_fresh_run(tmp_path, False)
    with pytest.raises(InputError, match=r"already holds a multi-seed run \(seeds.json\); continue it with --resume"):
        check_fresh_seeds(tmp_path, False)
    check_fresh_run(tmp_path, True)  # --force: the run's files go, the others stay
    check_fresh_seeds(tmp_path, True)
