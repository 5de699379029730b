"""Files from someone else run no code: crafted checkpoints and CIFAR-10 batches are refused, payload unrun."""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np
import pytest

from socsim.base.safepickle import Refused, load_data_pickle
from socsim.cli import main
from socsim.host.data import DataError, load_dataset
from socsim.runfolder.checkpoint import CheckpointError, load_checkpoint, write_checkpoint
from socsim.runfolder.files import CHECKPOINT, LEGACY_CHECKPOINT, read_checkpoint


class Payload:
    """Unpickling this writes ``marker``: evidence that a file ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


COMMANDS = {"train --resume": lambda d: ["train", "--resume", str(d), "--quiet"],
            "drift": lambda d: ["drift", str(d), "--quiet"]}


def _craft(kind: str, run_dir, marker) -> str:
    """Replace the run's checkpoint by a crafted one; returns what the refusal names."""
    (run_dir / CHECKPOINT).unlink()
    if kind == "old pickle checkpoint":
        (run_dir / LEGACY_CHECKPOINT).write_bytes(pickle.dumps({"trainer": Payload(marker)}))
        return LEGACY_CHECKPOINT
    if kind == "pickle named .npz":
        (run_dir / CHECKPOINT).write_bytes(pickle.dumps({"trainer": Payload(marker)}))
    else:  # an archive with an object array: np.load would unpickle it if allowed
        with open(run_dir / CHECKPOINT, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(b'{"format": "socsim-checkpoint"}', np.uint8),
                     a0=np.array([Payload(marker), 1], dtype=object))
    return CHECKPOINT


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("kind", ["old pickle checkpoint", "pickle named .npz", "npz with an object array"])
def test_crafted_checkpoint_is_refused_and_runs_nothing(run_copy, tmp_path, capsys, kind, command):
    marker = tmp_path / "ran.txt"
    named = _craft(kind, run_copy, marker)
    assert main(command(run_copy)) == 2
    err = capsys.readouterr().err
    assert f"{run_copy / named}" in err and "Traceback" not in err
    assert not marker.exists(), "the crafted checkpoint ran code"


def test_checkpoint_round_trips_arrays_tables_and_numbers(tmp_path):
    import pandas as pd
    state = {"n": 3, "x": 0.1, "none": None, "big": 1 << 100, "rows": [{"a": float("nan")}],
             "arr": np.arange(5, dtype=np.int16), "flags": np.array([True, False]),
             "table": pd.DataFrame({"s": ["a", "b"], "v": [1.5, 2.5], "k": np.array([1, 2], np.int64)})}
    write_checkpoint(tmp_path / "c.npz", state)
    got = load_checkpoint(tmp_path / "c.npz")
    assert got["n"] == 3 and got["x"] == 0.1 and got["none"] is None and got["big"] == 1 << 100
    assert np.isnan(got["rows"][0]["a"])
    assert got["arr"].dtype == np.int16 and got["arr"].tolist() == [0, 1, 2, 3, 4] and got["flags"].dtype == bool
    pd.testing.assert_frame_equal(got["table"], state["table"])
    with pytest.raises(TypeError, match="state.obj"):
        write_checkpoint(tmp_path / "d.npz", {"obj": object()})


WRONG = {
    "state is a list": ([1, 2], "the state is a list"),
    "no trainer": ({"metrics": [], "ledgers": []}, "missing 'trainer'"),
    "epoch a string": ({"trainer": {"epoch": "1"}, "metrics": [], "ledgers": []}, "trainer: epoch: expected int"),
    "memory of ints": ({"trainer": {"epoch": 0, "cycle": 0, "memory": {"w": np.zeros(3, np.int32)},
                                    "crossbars": [], "blocks": []}, "metrics": [], "ledgers": []},
                       "memory 'w': expected a 1-D float32 array"),
    "rows do not match epochs": ({"trainer": {"epoch": 2, "cycle": 0, "memory": {}, "crossbars": [], "blocks": []},
                                  "metrics": [], "ledgers": []}, "expected one row"),
}


@pytest.mark.parametrize("state, message", WRONG.values(), ids=WRONG.keys())
def test_checkpoint_of_the_wrong_structure_names_file_and_key(tmp_path, state, message):
    write_checkpoint(tmp_path / CHECKPOINT, state)
    with pytest.raises(CheckpointError, match=message) as info:
        read_checkpoint(tmp_path)
    assert str(info.value).startswith(str(tmp_path / CHECKPOINT))


def test_checkpoint_of_another_config_is_bad_input(run_copy, capsys):
    """The saved device state must fit the crossbars the saved config builds: a checkpoint with a wrongly
    shaped weight array (or a different tile count) is exit 2, not a silent partial restore."""
    state = read_checkpoint(run_copy)
    state.trainer.crossbars[0]["w"] = np.zeros((3, 3), np.float32)
    write_checkpoint(run_copy / CHECKPOINT, state.as_mapping())
    assert main(["train", "--resume", str(run_copy), "--epochs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{run_copy / CHECKPOINT}: does not fit" in err and "IdealCrossbar state w: expected a float32 array" in err


# CIFAR-10 ----------------------------------------------------------------------------------------------
def _py2_batch(n: int, labels: list[int]) -> bytes:
    """A batch as Python 2's cPickle wrote the published files: protocol 2, py2 str for bytes, the array
    rebuilt by numpy.core.multiarray._reconstruct + __setstate__."""
    def s(b: bytes) -> bytes:  # SHORT_BINSTRING / BINSTRING
        return (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<I", len(b))) + b
    data = bytes(range(256)) * (n * 3072 // 256)
    dtype = b"cnumpy\ndtype\n" + s(b"u1") + b"\x89\x88\x87R" + b"(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff" \
        b"\xff\xffK\x00tb"
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + b"K\x00\x85" + s(b"b") + b"\x87R"
             + b"(K\x01" + b"M" + struct.pack("<H", n) + b"M\x00\x0c\x86" + dtype + b"\x89" + s(data) + b"tb")
    items = s(b"batch_label") + s(b"training batch 1 of 5") + s(b"data") + array + s(b"labels") + b"]" \
        + b"(" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return b"\x80\x02}(" + items + b"u."


def test_python2_batch_of_the_published_format_loads(tmp_path):
    blob = _py2_batch(2, [3, 9])
    d = load_data_pickle(io.BytesIO(blob))
    assert d[b"batch_label"] == b"training batch 1 of 5" and d[b"labels"] == [3, 9]
    assert d[b"data"].dtype == np.uint8 and d[b"data"].shape == (2, 3072)
    assert d[b"data"].ravel()[:300].tolist() == list(range(256)) + list(range(44))
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        (tmp_path / name).write_bytes(blob)
    ds = load_dataset("cifar10", str(tmp_path))
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.y_test.tolist() == [3, 9]
    np.testing.assert_array_equal(ds.x_train[0, 0, 0, :3], (np.arange(3) / 255.0).astype(np.float32))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_python3_batches_load(tmp_path, protocol):
    data = np.random.default_rng(0).integers(0, 256, (3, 3072)).astype(np.uint8)
    blob = pickle.dumps({b"data": data, b"labels": [0, 5, 9], b"filenames": [b"a.png", b"b.png", b"c.png"]},
                        protocol=protocol)
    d = load_data_pickle(io.BytesIO(blob))
    np.testing.assert_array_equal(d[b"data"], data)


def _evil_batches(marker) -> dict[str, bytes]:
    return {
        "payload in the dict": pickle.dumps({b"data": Payload(marker), b"labels": [1]}),
        "payload as the whole file": pickle.dumps(Payload(marker)),
        "object array": pickle.dumps({b"data": np.array([Payload(marker)], dtype=object), b"labels": [1]}),
        "os.system by name": b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.",
        "builtins.eval by name": b"\x80\x02cbuiltins\neval\nX\x10\x00\x00\x00__import__('os')\x85R.",
    }


@pytest.mark.parametrize("kind", list(_evil_batches("x")))
def test_crafted_cifar_batch_is_refused_and_runs_nothing(tmp_path, kind):
    marker = tmp_path / "ran.txt"
    (tmp_path / "data_batch_1").write_bytes(_evil_batches(marker)[kind])
    with pytest.raises(DataError, match=r"data_batch_1: refused: refused global|data_batch_1: refused: numpy dtype"):
        load_dataset("cifar10", str(tmp_path))
    assert not marker.exists(), "the crafted batch ran code"
    with pytest.raises(Refused):
        load_data_pickle(io.BytesIO(_evil_batches(marker)[kind]))
    assert not marker.exists()


def test_a_sweep_rerun_over_a_crafted_point_checkpoint_runs_nothing(tmp_path):
    """A rerun sweep resumes a training point from the checkpoint in its folder: a crafted one is an error row."""
    from socsim.sweep import expand, load_sweep, run_sweep
    from socsim.sweep.run import POINTS_DIR
    from tests.sweep.conftest import MLP
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "one"\n[job]\nkind = "train"\ngraph = "{MLP}"\ndataset = "digits"\nepochs = 1\n'
                     'train_examples = 128\ntest_examples = 64\n[grid]\nseed = [5]\n')
    spec = load_sweep(sweep)
    folder = tmp_path / "out" / POINTS_DIR / expand(spec)[0].key
    folder.mkdir(parents=True)
    marker = tmp_path / "ran.txt"
    with open(folder / CHECKPOINT, "wb") as fh:
        np.savez(fh, meta=np.zeros(3, np.uint8), a0=np.array([Payload(marker)], dtype=object))
    outcome = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    row = outcome.table.iloc[0]
    assert row["status"] == "error" and "refused" in row["error"] and CHECKPOINT in row["error"]
    assert not marker.exists(), "the crafted checkpoint ran code"


def test_archives_that_lie_about_their_size_allocate_nothing(run_copy, capsys):
    """An .npy header claiming 10^12 floats in 8 bytes (numpy would allocate 4 TB first), and a 300 MiB zip bomb in
    300 kB, are refused from the archive's own bookkeeping before anything is allocated."""
    import zipfile
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)})
    with zipfile.ZipFile(run_copy / CHECKPOINT, "w") as z:
        z.writestr("meta.npy", header.getvalue() + b"12345678")
    assert main(["train", "--resume", str(run_copy)]) == 2
    assert "array 'meta' claims 4000000000000 bytes and holds 8" in capsys.readouterr().err
    with zipfile.ZipFile(run_copy / "conductances.npz", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("tile0_g.npy", bytes(300 << 20))
    assert main(["report", str(run_copy)]) == 2
    assert "conductances.npz: not a readable device-state archive (.npz): it would expand to" in \
        capsys.readouterr().err
