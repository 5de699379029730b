"""Property: a run folder with one damaged file is read (``load_run``, the digest check, ``read_checkpoint``) to a
clean error naming the file, or to a result that makes sense; never a traceback, a hang, or a write anywhere.

Damage: text edits of metrics.csv, ledger.csv, mapping.json, run.json and config.json; JSON values replaced by
values of another type or size; numbers in the CSV tables replaced by awkward ones; arrays of the conductances
archive replaced by arrays of other shapes, dtypes and values; checkpoint numbers replaced.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from socsim.base.errors import SocsimError
from socsim.runfolder.checkpoint import CheckpointError, load_checkpoint, write_checkpoint
from socsim.runfolder.digests import check_unedited
from socsim.runfolder.files import (
    CHECKPOINT,
    CONDUCTANCES,
    CONFIG,
    LEDGER,
    MAPPING,
    METRICS,
    RUN_ARGS,
    read_checkpoint,
)
from socsim.runfolder.read import SHARE_COLUMNS, load_run
from tests.reliability.conftest import _EXAMPLES, FUZZ
from tests.reliability.mutate import edit_text

RUN_FUZZ = settings(FUZZ, max_examples=_EXAMPLES or 12)
"""Each example copies and reads a run folder (~0.1 s): 12 examples per property keep the file at a few seconds."""
TEXT_FILES = (METRICS, LEDGER, MAPPING, RUN_ARGS, CONFIG)
NUMBERS = st.one_of(st.sampled_from([0, -1, -1e308, 1e308, float("nan"), float("inf"), 2 ** 70, 0.5, 7, "x", None]),
                    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2 ** 80), 2 ** 80))
JSON_VALUES = st.one_of(NUMBERS, st.text(max_size=5), st.lists(st.integers(), max_size=3), st.just({}),
                        st.booleans())


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"}


def _read(folder: Path, damaged: str) -> None:
    """Read the folder: a clean error names ``damaged`` (or the folder); an accepted result is sane."""
    before = _snapshot(folder)
    try:
        check_unedited(folder, accept_edits=True)
        run = load_run(folder)
    except (SocsimError, FileNotFoundError) as exc:  # a plain ValueError would be a bug: it fails the test
        assert damaged in str(exc) or str(folder) in str(exc), str(exc)
    else:
        metrics = run.metrics.select_dtypes("number")
        assert len(metrics) >= 1
        values = metrics.drop(columns=[c for c in SHARE_COLUMNS if c in metrics]).to_numpy(dtype=float)
        assert not (values[~np.isnan(values)] < 0).any() and not np.isinf(values).any()
        assert run.metrics["epoch"].tolist() == list(range(1, len(run.metrics) + 1))
    assert _snapshot(folder) == before  # a reader writes nothing


def _copy(tiny_run: Path, tmp: str) -> Path:
    folder = Path(tmp) / "run"
    shutil.copytree(tiny_run, folder)
    return folder


@RUN_FUZZ
@given(data=st.data(), name=st.sampled_from(TEXT_FILES))
def test_text_edits_of_a_run_file_give_a_clean_error_or_a_sane_run(tiny_run, data, name):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(tiny_run, tmp)
        text = (folder / name).read_text()
        (folder / name).write_text(data.draw(edit_text(text)), encoding="utf-8", errors="surrogatepass")
        _read(folder, name)


@RUN_FUZZ
@given(data=st.data(), name=st.sampled_from((MAPPING, RUN_ARGS, CONFIG)), value=JSON_VALUES)
def test_json_values_of_another_type_give_a_clean_error(tiny_run, data, name, value):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(tiny_run, tmp)
        doc = json.loads((folder / name).read_text())
        table, keys = doc, []
        while isinstance(table, dict) and table:
            key = data.draw(st.sampled_from(sorted(table)))
            keys.append(key)
            if not isinstance(table[key], dict) or data.draw(st.booleans()):
                table[key] = value
                break
            table = table[key]
        (folder / name).write_text(json.dumps(doc))
        _read(folder, name)


@RUN_FUZZ
@given(data=st.data(), name=st.sampled_from((METRICS, LEDGER)), value=NUMBERS)
def test_numbers_in_the_tables_give_a_clean_error_or_a_sane_run(tiny_run, data, name, value):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(tiny_run, tmp)
        frame = pd.read_csv(folder / name, keep_default_na=False).astype(object)
        row = data.draw(st.integers(0, len(frame) - 1))
        col = data.draw(st.sampled_from(list(frame.columns)))
        frame.loc[row, col] = value
        frame.to_csv(folder / name, index=False)
        _read(folder, name)


def _array(shape: tuple[int, ...], dtype: type, fill: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # NaN or inf cast to an integer dtype: whatever numpy makes of it
        return np.full(shape, fill).astype(dtype, casting="unsafe")


ARRAYS = st.builds(_array,
                   st.sampled_from([(64, 32), (2, 1, 64, 32), (3,), (64, 31), (0, 32), ()]),
                   st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.uint8]),
                   st.sampled_from([0.0, 1.0, -50.0, 1e30, np.nan, np.inf, 20.0]))


@RUN_FUZZ
@given(name=st.sampled_from(["tile0_w", "tile0_g", "tile0_writes", "tile9_w", "tile0_x", "w"]), array=ARRAYS)
def test_arrays_of_another_shape_or_range_give_a_clean_error(tiny_run, name, array):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(tiny_run, tmp)
        np.savez_compressed(folder / CONDUCTANCES, **{name: array})
        _read(folder, CONDUCTANCES)


@RUN_FUZZ
@given(data=st.data(), value=NUMBERS)
def test_checkpoint_numbers_give_a_clean_error(tiny_run, data, value):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(tiny_run, tmp)
        state = load_checkpoint(folder / CHECKPOINT)
        trainer = state["trainer"]
        target = data.draw(st.sampled_from(["epoch", "cycle", "crossbar", "block"]))
        if target in ("epoch", "cycle"):
            trainer[target] = value
        elif target == "crossbar":
            trainer["crossbars"][0][data.draw(st.sampled_from(sorted(trainer["crossbars"][0])))] = value
        else:
            trainer["blocks"][0][data.draw(st.integers(0, 4))] = value
        try:
            write_checkpoint(folder / CHECKPOINT, state)
        except TypeError:  # a value the writer itself refuses
            return
        try:
            read_checkpoint(folder)
        except CheckpointError as exc:
            assert str(folder / CHECKPOINT) in str(exc)
