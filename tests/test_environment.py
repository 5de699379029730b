"""The reproducibility contract: run.json records the numeric environment, socsim --version prints it, and a resume in
another environment warns."""

from __future__ import annotations

import json
from pathlib import Path

import numba
import numpy as np
import pytest

from socsim.base.environment import _numpy_blas, environment_change, environment_text
from socsim.cli import main

MLP = str(Path(__file__).resolve().parents[1] / "programs" / "mlp.toml")


def test_environment_names_numpy_blas_numba_and_cpu():
    text = environment_text()
    assert text.startswith(f"numpy {np.__version__}; BLAS ") and f"; numba {numba.__version__}; CPU " in text
    assert environment_change(text) is None and environment_change(None) is None
    assert "changed" in environment_change("numpy 0.0; BLAS other (kernel Haswell); numba 0.0; CPU x")


def test_only_numpy_s_own_blas_is_recorded_so_the_record_does_not_depend_on_import_order():
    wheel = Path(np.__file__).resolve().parent.parent
    numpy_s = {"filepath": str(wheel / "numpy.libs" / "libscipy_openblas64_.so"), "version": "0.3.31"}
    scipy_s = {"filepath": str(wheel / "scipy.libs" / "libscipy_openblas.so"), "version": "0.3.30"}
    assert _numpy_blas([scipy_s, numpy_s]) == [numpy_s]
    system = {"filepath": "/usr/lib/libopenblas.so", "version": "0.3.20"}  # numpy built against a system BLAS
    assert _numpy_blas([system]) == [system]
    import sklearn.datasets  # noqa: F401  (loads scipy's BLAS copy, as the digits dataset does)
    environment_text.cache_clear()
    assert environment_text().count("openblas") <= 1


def test_version_prints_the_environment(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.splitlines()[1] == f"numeric environment: {environment_text()}"


def test_run_json_records_it_and_resume_warns_when_it_changed(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", MLP, "--config", "ideal", "--dataset", "digits", "--train-examples", "128",
                 "--test-examples", "64", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    run_json = out / "run.json"
    saved = json.loads(run_json.read_text())
    assert saved["environment"] == environment_text()
    assert saved["images_used"].startswith("128 of 128 training images per epoch: 2 full batches of 64")
    saved["environment"] = "numpy 0.0; BLAS openblas 0.0 (kernel Haswell); numba 0.0; CPU another"
    run_json.write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet", "--accept-edits"]) == 0
    err = capsys.readouterr().err
    assert "numeric environment changed" in err and "kernel Haswell" in err
