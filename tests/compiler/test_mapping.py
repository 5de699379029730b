"""Mapping onto crossbar tiles: the Wu LeNet counts, the placement of the same blocks, capacity errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socsim.compiler.frontend.toml import load_toml, loads_toml
from socsim.compiler.graph import Conv2d, Graph, GraphError, Input
from socsim.compiler.mapping.placement import place_blocks
from socsim.compiler.mapping.table import CapacityError, MapOptions, map_graph, mapping_frame, mapping_table
from socsim.config.soc import RowBlocking, load_config, preset_names

PROGRAMS = Path(__file__).resolve().parents[2] / "programs"


@pytest.fixture(scope="module")
def cfg():
    return load_config("wu2023")


@pytest.fixture(scope="module")
def lenet():
    return load_toml(PROGRAMS / "lenet_wu2023.toml")


def test_wu_lenet_counts(cfg, lenet):
    m = map_graph(lenet, cfg)
    assert (m.crossbars, m.mvms, m.tile_ops) == (6, 641, 707)
    assert [(lm.name, lm.rows, lm.cols, lm.row_blocks, lm.col_blocks, lm.crossbars, lm.mvms, lm.tile_ops)
            for lm in m.layers] == [("conv1", 25, 4, 1, 1, 1, 576, 576), ("conv2", 100, 12, 2, 1, 2, 64, 128),
                                    ("fc", 192, 10, 3, 1, 3, 1, 3)]
    assert (m.tile_rows, m.tile_cols, m.tiles) == (64, 32, 4)
    assert [(b.layer, b.row_start, b.rows, b.crossbar) for b in m.blocks] == [
        ("conv1", 0, 25, 0), ("conv2", 0, 64, 1), ("conv2", 64, 36, 2), ("fc", 0, 64, 3), ("fc", 64, 64, 4),
        ("fc", 128, 64, 5)]
    assert m.layer("conv2").utilization == pytest.approx(1200 / (2 * 64 * 32))


def test_the_mapping_counts_and_the_placement_places_the_same_blocks(cfg, lenet):
    """One model of the blocks: the placement the lowering compiles puts exactly the mapping's blocks (six
    crossbars as column strips on two of wu2023's four tiles, all resident: no replicas, no time multiplexing)."""
    m, placed = map_graph(lenet, cfg), place_blocks(lenet, cfg)
    assert [(b.layer, b.row_start, b.rows, b.col_start, b.cols) for b in m.blocks] == \
        [(b.layer, b.row_start, b.rows, b.col_start, b.cols) for b in placed.blocks]
    assert placed.tiles_used == 2 <= cfg.tiles.count < m.crossbars


def test_mapping_table_and_frame(cfg, lenet):
    text = mapping_table(lenet, cfg)
    lines = text.splitlines()
    total = next(line for line in lines if line.startswith("total"))
    assert total.split() == ["total", "6", "26.2%", "641", "707"]
    assert "copies" not in text and "time-multiplexed" not in text
    df = mapping_frame(lenet, cfg)
    assert list(df["crossbars"]) == [1, 2, 3] and df["tile_ops"].sum() == 707


def test_the_mapping_check_prints_the_compilers_memory_plan(cfg, lenet):
    from socsim.compiler.check import mapping_check
    from socsim.compiler.lower.lowering import compile_training
    text, plan = mapping_check(lenet, cfg, 4000, 1000)
    compiled = compile_training(lenet, cfg, 4000, 1000)
    assert plan == compiled.memory and plan.ok
    sram = next(u for u in plan.uses if u.space == "sram")
    assert sram.need == sum(b.words for k, b in compiled_buffers(lenet, cfg) if b.space == "sram")
    assert sram.line() in text and "placement used by the lowering (pack): 6 blocks" in text
    imem = next(u for u in plan.uses if u.space == "imem")
    assert imem.need == max(p.code_bytes() for p in (compiled.init, compiled.train_epoch, compiled.evaluate))


def compiled_buffers(graph, cfg):
    from socsim.compiler.lower.lowering import lowering
    low = lowering(graph, cfg, cfg.train, 1, 4000, 1000)
    return [(k, b) for k, b in low.asm.buffers.items() if k == b.name]


def test_a_graph_the_compiler_refuses_is_not_ok_in_the_mapping_check(cfg):
    """The issue's new user: a 64-48-24-10 MLP on wu2023 overflows the accumulator SRAM (the weight copy, AdamW's
    moments, the update accumulator and the gradient: 5 words per weight); the check says so, naming the memory and
    the field to raise, as the compiler does."""
    from socsim.compiler.check import mapping_check
    from socsim.compiler.lower.lowering import compile_training
    g = loads_toml('[input]\nshape = [64]\n' + "".join(f'[[layer]]\ntype = "linear"\nout_features = {n}\n'
                                                          f'[[layer]]\ntype = "relu"\n' for n in (48, 24))
                   + '[[layer]]\ntype = "linear"\nout_features = 10\n[[layer]]\ntype = "softmax_xent"\n', "mlp4.toml")
    text, plan = mapping_check(g, cfg, 4000, 1000)
    assert not plan.ok and "ok  " not in text.split("memory plan")[1]
    want = (r"does not fit wu2023: the accumulator SRAM \(acc\) needs 22\d\d\d words with a micro-batch of 1 "
            r"\(largest: .*\) but sram.acc_kbit = 512 gives 16384; raise sram.acc_kbit to at least 7\d\d")
    assert re.search(want, text)
    with pytest.raises(CapacityError, match=want):
        compile_training(g, cfg, 4000, 1000)
    with pytest.raises(CapacityError, match=r"the tile buffer \(tbuf\) of node 'conv2': .* raise "
                                            r"tiles.buffer_words to at least 128"):
        small = load_config("wu2023", {"tiles": {"buffer_words": 64}})
        compile_training(load_toml(PROGRAMS / "lenet_wu2023.toml"), small, 4000, 1000)


@settings(max_examples=40, deadline=None)
@given(cin=st.integers(1, 40), cout=st.integers(1, 100), k=st.integers(1, 5), size=st.integers(5, 16))
def test_block_counts_cover_the_matrix(cfg, cin, cout, k, size):
    g = Graph.sequential([("x", Input((cin, size, size))), ("c", Conv2d(cout, k))])
    lm = map_graph(g, cfg).layer("c")
    rows, cols = cin * k * k, cout
    assert lm.row_blocks * 64 >= rows > (lm.row_blocks - 1) * 64
    assert lm.col_blocks * 32 >= cols > (lm.col_blocks - 1) * 32
    assert sum(b.rows * b.cols for b in lm.blocks) == rows * cols
    assert lm.tile_ops == (size - k + 1) ** 2 * lm.row_blocks * lm.col_blocks


@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_graph_maps(cfg, path):
    m = map_graph(load_toml(path), cfg)
    assert m.crossbars >= len(m.layers) and m.tile_ops >= m.mvms > 0


def test_wu_table2_counts_on_256_row_arrays():
    """Wu et al.'s Table 2 counts (crossbars / MVMs / tile operations per image) on wu2023_256: VGG-8 exactly; the
    CIFAR ResNet-18 with whole 3x3 kernels per 256-row block (28 channels, 252 rows), and not when the im2col rows
    are cut every 256."""
    cfg = load_config("wu2023_256")
    vgg = map_graph(load_toml(PROGRAMS / "vgg8_wu.toml"), cfg)
    assert (vgg.crossbars, vgg.mvms, vgg.tile_ops) == (78, 2690, 7713)
    resnet = load_toml(PROGRAMS / "resnet18.toml")
    whole = map_graph(resnet, cfg, MapOptions(row_blocking=RowBlocking.KERNEL))
    assert (whole.crossbars, whole.mvms, whole.tile_ops) == (1480, 6801, 81922)
    cut = map_graph(resnet, cfg, MapOptions(row_blocking=RowBlocking.CUT))
    assert (cut.crossbars, cut.mvms, cut.tile_ops) == (1392, 6801, 79362)
    assert [(b.row_start, b.rows) for b in whole.layer("layer4.0.conv2").blocks[::16]][:3] == [(0, 252), (252, 252),
                                                                                               (504, 252)]


@settings(max_examples=40, deadline=None)
@given(cin=st.integers(1, 40), k=st.integers(1, 5), rows=st.integers(25, 300))
def test_kernel_row_blocks_hold_whole_kernels(cin, k, rows):
    cfg = load_config("wu2023", {"tiles": {"rows": rows}, "compiler": {"row_blocking": "kernel"}})
    g = Graph.sequential([("x", Input((cin, 8, 8))), ("c", Conv2d(5, k, padding=k // 2))])
    lm = map_graph(g, cfg).layer("c")
    per = rows // (k * k)
    assert lm.row_blocks == -(-cin // per)
    assert all(b.row_start % (k * k) == 0 and b.rows % (k * k) == 0 and b.rows <= rows for b in lm.blocks)
    assert sum(b.rows for b in lm.blocks) == cin * k * k


def test_kernel_row_blocking_needs_a_kernel_that_fits():
    cfg = load_config("wu2023", {"tiles": {"rows": 16}, "compiler": {"row_blocking": "kernel"}})
    g = Graph.sequential([("x", Input((2, 8, 8))), ("c", Conv2d(4, 5))])
    with pytest.raises(GraphError, match=r"layer 'c': one 5x5 kernel is 25 rows, more than the 16 rows of a tile.*"
                                         r"row_blocking = cut or larger tiles.rows"):
        map_graph(g, cfg)


def test_spread_placement_puts_a_layers_blocks_on_distinct_tiles(lenet):
    from socsim.compiler.mapping.placement import place_blocks
    packed = place_blocks(lenet, load_config("wu2023"))
    assert [b.tile for b in packed.blocks_of("conv2")] == [0, 0]
    spread = place_blocks(lenet, load_config("wu2023", {"compiler": {"placement": "spread"}}))
    for layer in ("conv1", "conv2", "fc"):
        tiles = [b.tile for b in spread.blocks_of(layer)]
        assert len(set(tiles)) == len(tiles)
    assert [(b.tile, b.tile_col) for b in spread.blocks] == [(0, 0), (0, 4), (1, 0), (0, 16), (1, 12), (2, 0)]


@pytest.mark.parametrize("preset", preset_names())
def test_the_mapping_check_and_the_compiler_agree_on_every_shipped_graph(preset):
    """``socsim compile --mapping`` says ok exactly when the compiler accepts the graph, and otherwise prints the
    compiler's own reason (one memory plan serves both)."""
    from socsim.compiler.check import mapping_check
    from socsim.compiler.lower.lowering import compile_training
    cfg = load_config(preset)
    for path in sorted(PROGRAMS.glob("*.toml")):
        graph = load_toml(path)
        text, plan = mapping_check(graph, cfg, 4000, 1000)
        try:
            compiled = compile_training(graph, cfg, 4000, 1000)
        except GraphError as exc:
            assert not plan.ok and plan.problem == str(exc), f"{path.stem} on {preset}"
            assert f"DOES NOT {'COMPILE' if plan.fits else 'FIT'}: {exc}" in text
            continue
        assert plan.ok and plan == compiled.memory, f"{path.stem} on {preset}"
        assert "DOES NOT" not in text and all(u.ok for u in plan.uses)
