"""Killing ``socsim train`` mid-epoch (SIGINT, SIGTERM or SIGKILL) leaves a loadable checkpoint; --resume is
bit-identical."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socsim.runfolder.files import CHECKPOINT, CONDUCTANCES, METRICS, read_checkpoint

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 6
"""Epoch 2 is interrupted; the epochs after it leave a wide margin before the run would end by itself (a signal
during interpreter exit ends the process with -SIGINT, which is not the handled stop under test)."""
TRAIN = [sys.executable, "-m", "socsim.cli", "train", str(ROOT / "programs" / "mlp.toml"), "--dataset", "digits",
         "--epochs", str(EPOCHS), "--test-examples", "64", "--quiet"]
"""The digits MLP on all 1437 training images: about 0.2 s per epoch, long enough to be killed inside one."""
DETERMINISTIC = lambda df: df.drop(columns=["wall_s"])  # noqa: E731  (host time differs run to run)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    subprocess.run([*TRAIN, "--out", str(out)], check=True, capture_output=True, timeout=120)
    return out


def _kill_mid_epoch(out: Path, sig: signal.Signals) -> tuple[int, str]:
    """Start training, wait until epoch 1 is written, let epoch 2 start, send ``sig``; returns the exit status
    and stderr."""
    # a shell without job control starts background commands with SIGINT ignored, and the child would inherit
    # that; restore the default so Python turns SIGINT into KeyboardInterrupt however the suite was started
    proc = subprocess.Popen([*TRAIN, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (out / METRICS).exists():
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before its first epoch"
        time.sleep(0.01)
    time.sleep(0.15)  # inside epoch 2
    assert proc.poll() is None, "training finished before it could be killed"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_killed_run_resumes_bit_identically(tmp_path, uninterrupted, sig):
    out = tmp_path / "run"
    code, err = _kill_mid_epoch(out, sig)
    assert code != 0
    if sig != signal.SIGKILL:  # handled: the run stops cleanly, saying how to continue
        assert code == 128 + sig and "--resume" in err and "Traceback" not in err, (code, err)
    state = read_checkpoint(out)  # loadable, and consistent with the metrics written beside it
    done = state.epoch
    assert 1 <= done < EPOCHS and len(state.metrics) == done
    # the checkpoint is written first, then metrics.csv: a kill between the two leaves it one epoch behind
    # (the resume rewrites it from the checkpoint), never ahead and never half-written
    assert len(pd.read_csv(out / METRICS)) in (done - 1, done)
    for name in (CHECKPOINT, METRICS, CONDUCTANCES):  # atomic writes: never a half-written file
        assert (out / name).stat().st_size > 0
    subprocess.run([sys.executable, "-m", "socsim.cli", "train", "--resume", str(out), "--quiet"], check=True,
                   capture_output=True, timeout=120)
    pd.testing.assert_frame_equal(DETERMINISTIC(pd.read_csv(out / METRICS)),
                                  DETERMINISTIC(pd.read_csv(uninterrupted / METRICS)), check_exact=True)
    with np.load(out / CONDUCTANCES) as got, np.load(uninterrupted / CONDUCTANCES) as want:
        assert sorted(got) == sorted(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    got, want = read_checkpoint(out).trainer, read_checkpoint(uninterrupted).trainer
    assert got.epoch == want.epoch == EPOCHS and got.cycle == want.cycle
    for name in want.memory:  # the digital weight copy, optimizer state, accumulators
        np.testing.assert_array_equal(got.memory[name], want.memory[name], err_msg=name)
