"""The one error type: kinds of SocsimError, their exit statuses, and a bug shown as a bug (with its traceback)."""

from __future__ import annotations

import pytest

import socsim.cli.program
from isa.inputfile import InputFileError
from isa.program import IsaError
from socsim.base.configtools import ConfigError
from socsim.base.errors import (
    CapacityError,
    ErrorKind,
    HostEnvironmentError,
    InputError,
    MissingInput,
    SocsimError,
    error_kind,
)
from socsim.base.exits import EXIT_FOR_KIND, EXIT_TRAP
from socsim.base.locks import FolderBusy
from socsim.cli import EXIT_BUG, EXIT_ERROR, main
from socsim.compiler.memory.plan import CapacityError as PlanCapacityError
from socsim.config.soc import load_config
from socsim.sim.traps import Trap, TrapKind


def test_an_error_names_what_and_where():
    exc = InputError("expected an integer, got 'x'", file="net.toml", line=12, field="layer.out_features")
    assert str(exc) == "net.toml:12: layer.out_features: expected an integer, got 'x'"
    assert (exc.what, exc.file, exc.line, exc.field) == ("expected an integer, got 'x'", "net.toml", 12,
                                                        "layer.out_features")
    assert str(InputError("no GRAPH given")) == "no GRAPH given"
    assert str(HostEnvironmentError("no such folder", file="runs/a")) == "runs/a: no such folder"


def test_kinds_and_the_classes_they_replace():
    """Each kind keeps the built-in class it replaced, so library code catching that still catches it."""
    assert isinstance(InputError("x"), ValueError) and isinstance(CapacityError("x"), ValueError)
    assert isinstance(HostEnvironmentError("x"), OSError) and isinstance(FolderBusy("x"), ValueError)
    assert isinstance(MissingInput("x"), FileNotFoundError) and isinstance(InputFileError("x"), ValueError)
    assert isinstance(Trap(TrapKind.NAN, "x"), RuntimeError)
    cases = {InputError("x"): ErrorKind.INPUT, ConfigError("x"): ErrorKind.INPUT, IsaError("x"): ErrorKind.INPUT,
             CapacityError("x"): ErrorKind.CAPACITY, PlanCapacityError("x"): ErrorKind.CAPACITY,
             Trap(TrapKind.NAN, "x"): ErrorKind.TRAP, FolderBusy("x"): ErrorKind.ENVIRONMENT,
             FileNotFoundError(2, "gone"): ErrorKind.ENVIRONMENT, MissingInput("x"): ErrorKind.INPUT,
             InputFileError("x"): ErrorKind.INPUT}
    for exc, kind in cases.items():
        assert error_kind(exc) is kind, exc
    for bug in (ValueError("x"), KeyError("x"), TypeError("x"), IndexError("x")):
        assert error_kind(bug) is None
    assert isinstance(PlanCapacityError("x"), SocsimError)
    assert EXIT_FOR_KIND[ErrorKind.TRAP] == EXIT_TRAP and EXIT_FOR_KIND[ErrorKind.INPUT] == EXIT_ERROR
    assert set(EXIT_FOR_KIND) == set(ErrorKind)


def test_a_config_error_carries_its_file_and_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "wu2023"\n[tiles]\ncount = "many"\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(bad))
    assert info.value.file == str(bad) and info.value.field == "tiles.count"
    assert str(info.value) == f"{bad}: tiles.count: expected an integer, got 'many'"


def test_bad_input_exits_with_the_input_status_and_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "wu2023"\n[tiles]\ncount = -3\n')
    assert main(["run", "programs/mlp_infer.s", "--config", str(bad)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"socsim: error: {bad}: tiles.count = -3 tiles is out of range")


def test_an_unknown_device_model_in_a_config_file_exits_2_with_the_message(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "wu2023"\n[tiles.physics]\nmodel = "mram"\n')
    assert main(["run", "programs/mlp_infer.s", "--config", str(bad)]) == EXIT_ERROR == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"socsim: error: {bad}: tiles.physics.model = 'mram' is unknown; valid models: ")
    bad.write_text('base = "wu2023"\n[tiles.physics]\nfitted = "mram_2030"\n')
    assert main(["run", "programs/mlp_infer.s", "--config", str(bad)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"socsim: error: {bad}: tiles.physics.fitted: unknown fitted parameter set 'mram_2030'; "
                          "valid: ") and err.count("\n") == 1


def test_a_bug_exits_with_its_traceback_and_the_bug_status(monkeypatch, capsys):
    """A plain ValueError from socsim's own code is a bug, not bad input: it is not shown as a user's error."""
    def broken(*args, **kwargs):
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(socsim.cli.program, "load_config", broken)
    assert main(["run", "programs/mlp_infer.s"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ValueError: an internal invariant broke" in err
    assert "socsim: internal error (ValueError): a bug in socsim" in err
    assert "socsim: error:" not in err


def test_a_missing_key_in_socsim_is_a_bug_too(monkeypatch, capsys):
    def broken(*args, **kwargs):
        return {}["tiles"]

    monkeypatch.setattr(socsim.cli.program, "load_config", broken)
    assert main(["run", "programs/mlp_infer.s"]) == EXIT_BUG
    assert "KeyError: 'tiles'" in capsys.readouterr().err


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_run_folder_file_that_is_a_folder_is_bad_input(tmp_path, capsys):
    (tmp_path / "run.json").mkdir()
    assert main(["train", "--resume", str(tmp_path)]) == EXIT_ERROR
    assert _one_error_line(capsys) == (f"socsim: error: {tmp_path / 'run.json'}: run.json is a folder; expected a "
                                       "regular file\n")


@pytest.mark.parametrize("argv, message", [
    (["drift", "{d}", "--after", "1"], "{d}/checkpoint.npz: no checkpoint; train first with 'socsim train'"),
    (["report", "{d}"], "{d}: not a run folder written by 'socsim train' (no metrics.csv)"),
    (["train", "--resume", "{d}"], "{d}/run.json: not a run folder written by 'socsim train'"),
])
def test_a_folder_that_is_no_run_folder_is_bad_input(tmp_path, capsys, argv, message):
    assert main([a.format(d=tmp_path) for a in argv]) == EXIT_ERROR
    assert _one_error_line(capsys) == f"socsim: error: {message.format(d=tmp_path)}\n"


def test_the_simulator_refuses_its_callers_mistakes_by_kind():
    """An unknown engine, a profile on the fast engine and an output the program lacks are the caller's input."""
    from isa import assemble
    from socsim.sim import Soc
    from socsim.sim.engines import make_engine

    soc = Soc.from_config(load_config("wu2023"), engine="fast")
    with pytest.raises(InputError, match="^unknown engine 'warp'; valid: fast, reference$"):
        make_engine("warp", soc)
    with pytest.raises(InputError, match="^a profile needs the reference engine"):
        soc.start_profile()
    with pytest.raises(InputError, match="^outputs: no symbol 'b' in the program; it has a$") as info:
        soc.run(assemble(".sym a sram 1\n    halt\n"), outputs=["b"])
    assert info.value.field == "outputs"
