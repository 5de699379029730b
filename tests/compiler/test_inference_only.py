"""The inference-only programs: no training program, gradients, optimizer state or update scratch; the weights'
copy in DRAM; capacity checks count only that, and the evaluation runs as the training compile's does."""

from __future__ import annotations

from pathlib import Path

import pytest

from socsim.compiler import load_graph
from socsim.compiler.lower.lowering import CapacityError, compile_training
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.inference import run_inference

MLP = str(Path(__file__).resolve().parents[2] / "programs" / "mlp.toml")
TRAINING_ONLY = ("m_", "v_", "acc_", "dw_", "mb_", "vb_", "db_", "g_", "rowsum")


def test_inference_programs_hold_only_what_inference_needs():
    graph, cfg = load_graph(MLP), load_config("wu2023")
    full = compile_training(graph, cfg, 64, 64)
    infer = compile_training(graph, cfg, 64, 64, inference=True)
    assert infer.train_epoch is None and "train_epoch" not in infer.text
    symbols = infer.init.symbols
    assert not [n for n in symbols if n.startswith(TRAINING_ONLY)]
    assert {symbols[f"w_{n}"].space.name.lower() for n in ("fc1", "fc2")} == {"dram"}
    use = {u.space: u.need for u in infer.memory.uses}
    assert use["acc"] == 32 + 10  # the biases only
    assert use["imem"] < {u.space: u.need for u in full.memory.uses}["imem"]
    assert infer.text["evaluate"].count("mvm ") == full.text["evaluate"].count("mvm ")


def test_a_chip_too_small_to_train_still_infers():
    graph = load_graph(MLP)
    small = load_config("wu2023", {"sram": {"acc_kbit": 2}})  # 64 words: the biases, not the optimizer state
    with pytest.raises(CapacityError, match=r"raise sram\.acc_kbit to at least"):
        compile_training(graph, small, 64, 64)
    inf = run_inference(graph, small, load_dataset("digits"), images=64)
    big = run_inference(graph, load_config("wu2023"), load_dataset("digits"), images=64)
    assert inf.result.cycles == big.result.cycles  # the same evaluation program, on a smaller chip
    assert inf.static_energy_per_image_pj < big.static_energy_per_image_pj  # less SRAM leaks less


def test_compile_infer_command_prints_only_the_inference_programs(capsys, tmp_path):
    from socsim.cli import main
    assert main(["compile", MLP, "--infer", "-o", str(tmp_path / "mlp.s")]) == 0
    out = capsys.readouterr().out
    assert "inference only" in out and "train_epoch" not in out and "evaluate -> " in out
    assert "halt" in (tmp_path / "mlp.s").read_text() and "mvm " in (tmp_path / "mlp.s").read_text()
    assert main(["compile", MLP, "--infer", "--mapping"]) == 0
    assert "acc           42 / 16384" in capsys.readouterr().out  # the biases only
