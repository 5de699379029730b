"""Shared fixtures: small real run folders (the digits MLP) and a Result with a unit timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from socsim.runfolder.read import RunFolder, load_run
from socsim.sim import Result

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "programs"
ENDURANCE_PULSES = 50
PRESET = f"""base = "wu2023"
name = "wu2023-endurance"
[tiles.physics.device]
endurance_pulses = {ENDURANCE_PULSES}
[train]
scheme = "naive"                 # write every batch's update, so devices take pulses in two short epochs
"""


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A run folder written by the real training path: wu2023 with an endurance limit, naive updates,
    digits, 2 epochs of 192 training / 64 test images, with the numpy baseline."""
    from socsim.host.train import RunArgs, run_training
    tmp = tmp_path_factory.mktemp("runs")
    (tmp / "endurance.toml").write_text(PRESET)
    out = tmp / "mlp-endurance"
    args = RunArgs(str(PROGRAMS / "mlp.toml"), str(tmp / "endurance.toml"), "digits", None, 2, 192, 64, None)
    run_training(args, out, baseline=True)
    return out


@pytest.fixture(scope="session")
def ideal_run_dir(tmp_path_factory) -> Path:
    """The same network on the ideal preset (weights instead of conductances, no write counters), 1 epoch."""
    from socsim.host.train import RunArgs, run_training
    out = tmp_path_factory.mktemp("runs") / "mlp-ideal"
    run_training(RunArgs(str(PROGRAMS / "mlp.toml"), "ideal", "digits", None, 1, 128, 64, None), out)
    return out


@pytest.fixture(scope="session")
def run(run_dir) -> RunFolder:
    return load_run(run_dir)


def run_program(name: str, preset: str = "wu2023") -> Result:
    """Assemble programs/NAME and run it on ``preset`` with a unit timeline."""
    import isa
    from socsim.config.soc import load_config
    from socsim.sim import Soc
    return Soc.from_config(load_config(preset), timeline=True).run(isa.assemble_file(PROGRAMS / name))


@pytest.fixture(scope="session")
def infer_result() -> Result:
    """programs/mlp_infer.s on wu2023 with a unit timeline."""
    return run_program("mlp_infer.s")
