"""The update at the end of a batch: the optimizer step of every parameter, then the transfer onto the devices.

:class:`Update` is given the network (recipe, weight scales, device physics), the weight copies, the transfer
scratch and the blocks that write, pulse and read back the devices. Digital parameters (biases, BatchNorm scale and
shift) take their step directly; a weight layer's step accumulates into ``acc_LAYER``, and the recipe's transfer
(:class:`~socsim.compiler.recipes.Transfer`) moves it onto the devices.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer, f32
from socsim.compiler.graph import GraphError
from socsim.compiler.lower.blocks import Blocks
from socsim.compiler.lower.network import Network, param_nodes, row_bands
from socsim.compiler.recipes import Transfer
from socsim.compiler.registers import REG
from socsim.physics.registry import pulse_step, weight_level


@dataclass(frozen=True)
class Update:
    """Emits the optimizer's hyperparameters, the update of every parameter and the transfer."""

    asm: Asm
    net: Network
    weight_copy: dict[str, Buffer]
    xfer_target: Buffer
    """The weights (or pulses) a layer's transfer writes."""
    xfer_mask: Buffer
    """Where it writes them."""
    blocks: Blocks

    def hyperparameters(self) -> None:
        t = self.net.train
        for name, value in (("lr", t.lr), ("beta1", t.beta1), ("beta2", t.beta2), ("eps", t.eps),
                            ("wd", t.weight_decay), ("momentum", t.momentum)):
            self.asm.op("hp", name, f32(value))

    def optimizer_step(self, grad: str, m: str, v: str, param: str, n: int) -> None:
        """``grad`` <- the update of ``param`` (AdamW or SGD with momentum; ``v`` unused by SGD)."""
        if self.net.train.optimizer == "adamw":
            self.asm.op("adamw", grad, grad, m, v, param, n, REG.step)
        else:
            self.asm.op("sgd", grad, grad, m, param, n)

    def update_digital(self, grad: str, m: str, v: str, param: str, n: int, what: str) -> None:
        """Digital parameters (biases, BatchNorm scale/shift): optimizer step, add, clear the gradient."""
        self.optimizer_step(grad, m, v, param, n)
        self.asm.op("vadd", param, param, grad, n, note=f"{what} is digital")
        self.asm.op("vfill", grad, n, 0.0)

    def update(self) -> None:
        a, net = self.asm, self.net
        a.op("addi", REG.step, REG.step, 1, note="optimizer step")
        for node in param_nodes(net):  # each layer with parameters emits its own step (ParamLayer.lower_update)
            node.layer.lower_update(self, node.name)

    def transfer_level(self, name: str) -> float:
        """Threshold of the accumulated update (digital weight units) before a weight is written."""
        net = self.net
        if net.recipe.transfer is not Transfer.THRESHOLD:
            return 0.0
        return net.train.transfer_levels * net.alpha[name] * weight_level(net.cfg.tiles.physics)

    def transfer_quantum(self, name: str) -> float:
        """Smallest update the transfer moves a weight by (digital weight units): a pulse step, the threshold, or
        one code step of the quantised weights."""
        net = self.net
        if net.recipe.transfer is Transfer.PULSES:
            return net.alpha[name] * pulse_step(net.cfg.tiles.physics)
        if net.recipe.transfer is Transfer.QUANTIZED:
            return net.alpha[name] * weight_level(net.cfg.tiles.physics)
        return self.transfer_level(name)

    def weight_code_bits(self) -> int:
        """Bits of the signed codes the devices hold (``quant`` clips to +-(2^(b-1) - 1)): QUANTIZED transfers."""
        phys = self.net.cfg.tiles.physics
        level = weight_level(phys)
        top = round(phys.w_max / level) if level else 0
        if top < 1 or (top + 1) & top or abs(top * level - phys.w_max) > 1e-6 * phys.w_max:
            raise GraphError(f"scheme {self.net.train.scheme.value} rounds weights to signed integer codes, but "
                             f"{phys.model} holds {phys.w_max / level if level else 'continuous'} levels per sign; "
                             "it needs 2^(b-1) - 1 (e.g. sram_cd, or rram_wv with 2^k levels)")
        return top.bit_length() + 1

    def part(self, stem: str, name: str, offset: int) -> str:
        """Operand text of word ``offset`` of symbol ``STEM_NAME`` (the bare name at offset 0)."""
        return f"{stem}_{name}" if offset == 0 else self.asm.buffers[f"{stem}_{name}"].at(offset)

    def transfer_quantized(self, name: str, cols: int) -> None:
        """The master copy takes the update; the devices whose code changed are written with the new codes (one
        row band at a time: :func:`~socsim.compiler.lower.network.row_bands`)."""
        a, target, mask = self.asm, self.xfer_target, self.xfer_mask
        step = f32(self.transfer_quantum(name))
        bits = self.weight_code_bits()
        for r0, r1, blocks in row_bands(self.net, name):
            n, w, acc = (r1 - r0) * cols, self.part("w", name, r0 * cols), self.part("acc", name, r0 * cols)
            a.op("quant", mask.at(), w, n, step, bits, note="codes the devices hold")
            a.op("vadd", w, w, acc, n, note="the FP32 master copy takes the update")
            a.op("vfill", acc, n, 0.0)
            a.op("vclamp", w, w, n, f32(self.net.alpha[name] * self.net.cfg.tiles.physics.w_max),
                 note="weight range of the devices")
            a.op("quant", target.at(), w, n, step, bits, note=f"INT{bits} codes of the new weights")
            a.op("vsub", mask.at(), target.at(), mask.at(), n, note="nonzero where a code changed")
            a.op("vscl", target.at(), target.at(), n, step)
            self.blocks.program_blocks(name, target, mask, cols, blocks, r0)

    def transfer(self, name: str, cols: int) -> None:
        """Move layer ``name``'s accumulated update onto its devices, as the recipe says (one row band at a time
        when staged: the transfer scratch holds a band, not the layer)."""
        a, how, target, mask = self.asm, self.net.recipe.transfer, self.xfer_target, self.xfer_mask
        if how is Transfer.QUANTIZED:
            self.transfer_quantized(name, cols)
            return
        for r0, r1, blocks in row_bands(self.net, name):
            n, w, acc = (r1 - r0) * cols, self.part("w", name, r0 * cols), self.part("acc", name, r0 * cols)
            if how is Transfer.PULSES:
                eps = f32(self.transfer_quantum(name))
                a.op("xferp", target.at(), acc, n, eps, note="pulses = trunc(acc / eps)")
                a.op("vaxpy", w, target.at(), w, n, eps, note="track the intended weight")
                self.blocks.pulse_blocks(name, target, cols, blocks, r0)
                continue
            a.op("xferwv", target.at(), mask.at(), acc, w, n, f32(self.transfer_level(name)))
            if self.net.recipe.scaled:  # keep the digital copy inside what the devices can hold
                limit = f32(self.net.alpha[name] * self.net.cfg.tiles.physics.w_max)
                a.op("vclamp", w, w, n, limit, note="weight range of the devices")
                a.op("vclamp", target.at(), target.at(), n, limit)
            self.blocks.program_blocks(name, target, mask, cols, blocks, r0)
        if how is Transfer.EVERY_BATCH:  # no high-precision copy: the weight is what the devices hold
            self.blocks.read_back_blocks(name, self.weight_copy[name], cols)
