"""Which images a training run uses, said in words: nothing is trimmed silently.

A training epoch runs whole batches (``train.batch``), so ``available % batch`` training images sit out each epoch
(a different set every epoch but the first, as the order is shuffled). Every test image is evaluated: the last
test micro-batch is filled with blank images that never count as a hit
(socsim.compiler.lower.lowering.Compiled.test_slots).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageUse:
    """Training and test images of a run (counts of images)."""

    train_available: int
    batch: int
    batches: int
    """Full batches per epoch."""
    test_images: int
    microbatch: int
    test_padding: int
    """Blank images that fill the last test micro-batch."""

    @property
    def train_used(self) -> int:
        """Training images per epoch: whole batches."""
        return self.batches * self.batch

    def text(self) -> str:
        """``1408 of 1437 training images per epoch: 22 full batches of 64 (29 sit out); 360 test images: 12
        micro-batches of 32, the last filled with 24 blank images``."""
        left = self.train_available - self.train_used
        out = (f"{self.train_used} of {self.train_available} training images per epoch: {self.batches} full "
               f"batch{'es' if self.batches != 1 else ''} of {self.batch}"
               + (f" ({left} sit out each epoch; which ones changes as the order is shuffled)" if left else ""))
        slots = self.test_images + self.test_padding
        micro = slots // self.microbatch
        out += (f"; {self.test_images} test images: {micro} micro-batch{'es' if micro != 1 else ''} of "
                f"{self.microbatch}")
        if self.test_padding:
            out += f", the last filled with {self.test_padding} blank image{'s' if self.test_padding != 1 else ''}"
        return out
