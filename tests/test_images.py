"""No silent trimming: every test image is evaluated whatever the micro-batch (the last micro-batch is filled with
blank images that never count), and the images a run uses are said in words on the console and in run.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.images import ImageUse
from socsim.host.training import BLANK_LABEL, ChipTrainer, padded

MLP = Path(__file__).resolve().parents[1] / "programs" / "mlp.toml"


def test_padding_fills_with_blank_rows():
    y = np.arange(5)
    assert padded(y, 8, BLANK_LABEL).tolist() == [0, 1, 2, 3, 4, -1, -1, -1]
    assert padded(y, 5, BLANK_LABEL) is not None and len(padded(y, 3, 0)) == 3


def test_every_test_image_counts_whatever_the_microbatch():
    data = load_dataset("digits", None, 0).subset(128, 100)
    hits = set()
    for microbatch in (8, 32):
        trainer = ChipTrainer(load_graph(MLP), load_config("ideal"), data, microbatch)
        comp = trainer.compiled
        assert comp.test_examples == 100 and comp.test_slots % microbatch == 0
        assert comp.padding == comp.test_slots - 100 < microbatch
        accuracy, _ = trainer.evaluate()
        assert accuracy * 100 == pytest.approx(round(accuracy * 100))  # a whole number of the 100 real images
        hits.add(round(accuracy * 100))
    assert len(hits) == 1  # 8 and 32 images per micro-batch (4 blank ones): the same hits


def test_image_use_in_words():
    use = ImageUse(train_available=4000, batch=64, batches=62, test_images=360, microbatch=32, test_padding=24)
    text = use.text()
    assert text.startswith("3968 of 4000 training images per epoch: 62 full batches of 64 (32 sit out each epoch")
    assert "360 test images: 12 micro-batches of 32, the last filled with 24 blank images" in text
    exact = ImageUse(128, 64, 2, 64, 64, 0).text()
    assert exact == "128 of 128 training images per epoch: 2 full batches of 64; 64 test images: 1 micro-batch of 64"
