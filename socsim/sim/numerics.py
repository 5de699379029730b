"""Functional semantics of the data-movement and digital-unit instructions (numpy, float32).

One function per mnemonic, registered in :data:`NUMERICS`. Each takes the resolved operands ``o``
(``o.values`` scalars, arrays via ``a(name)``) and the digital unit's hyperparameter registers.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from isa.spec import Hyper

F32 = np.float32


class Ctx:
    """What a numerics function sees: operand arrays and scalars, hyperparameters, registers."""

    __slots__ = ("mem", "arrays", "v", "hyper", "regs", "pattern")

    def __init__(self, mem: dict[str, tuple], arrays: dict, values: dict, hyper: dict[int, float],
                 regs: list[int], pattern: np.ndarray | None):
        self.mem, self.arrays, self.v, self.hyper, self.regs, self.pattern = mem, arrays, values, hyper, regs, pattern

    def a(self, name: str) -> np.ndarray:
        """The words of memory operand ``name`` (a writable float32 view)."""
        space, start, size = self.mem[name]
        return self.arrays[space][start:start + size]

    def h(self, name: Hyper) -> np.float32:
        return F32(self.hyper[int(name)])


def _check_pool(v: dict) -> None:
    h, w, k, s = v["h"], v["w"], v["k"], v["s"]
    if k < 1 or s < 1 or k > h or k > w:
        raise ValueError(f"a {k} x {k} pooling window with stride {s} does not fit planes of {h} x {w}")


def _pool_windows(src: np.ndarray, v: dict) -> tuple[np.ndarray, int, int]:
    _check_pool(v)
    planes, h, w, k, s = v["planes"], v["h"], v["w"], v["k"], v["s"]
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    x = src.reshape(planes, h, w)
    wins = np.stack([x[:, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s]
                     for ky in range(k) for kx in range(k)], axis=-1)
    return wins, oh, ow


def _pool_back(c: Ctx, weights: np.ndarray) -> None:
    """Scatter window-gradient ``weights`` (planes, oh, ow, k*k) back onto the input planes."""
    v = c.v
    planes, h, w, k, s = v["planes"], v["h"], v["w"], v["k"], v["s"]
    oh, ow = weights.shape[1], weights.shape[2]
    out = np.zeros((planes, h, w), dtype=F32)
    for j in range(k * k):
        ky, kx = divmod(j, k)
        out[:, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s] += weights[..., j]
    c.a("dst")[:] = out.ravel()


def _maxpoolb(c: Ctx) -> None:
    wins, oh, ow = _pool_windows(c.a("src"), c.v)
    first = np.argmax(wins, axis=-1)
    g = c.a("gout").reshape(wins.shape[0], oh, ow)
    weights = np.zeros(wins.shape, dtype=F32)
    np.put_along_axis(weights, first[..., None], g[..., None], axis=-1)
    _pool_back(c, weights)


def _avgpoolb(c: Ctx) -> None:
    v = c.v
    _check_pool(v)
    k, s = v["k"], v["s"]
    oh, ow = (v["h"] - k) // s + 1, (v["w"] - k) // s + 1
    g = c.a("gout").reshape(v["planes"], oh, ow) / F32(k * k)
    _pool_back(c, np.repeat(g[..., None], k * k, axis=-1))


def _sxent(c: Ctx) -> None:
    n, classes = c.v["n"], c.v["classes"]
    z = c.a("logits").reshape(n, classes)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    labels = c.a("labels").astype(np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= classes:
        raise ValueError(f"a label is outside 0 .. {classes - 1}")
    p[np.arange(n), labels] -= F32(1.0)
    c.a("dst")[:] = (p / F32(n)).ravel()


def _mm(c: Ctx) -> None:
    m, k, n = c.v["m"], c.v["k"], c.v["n"]
    a = c.a("a").reshape(k, m).T if c.v["ta"] else c.a("a").reshape(m, k)
    b = c.a("b").reshape(n, k).T if c.v["tb"] else c.a("b").reshape(k, n)
    out = a @ b
    dst = c.a("dst")
    if c.v["acc"]:
        dst += out.ravel()
    else:
        dst[:] = out.ravel()


def _opacc(c: Ctx) -> None:
    k, m, n = c.v["k"], c.v["m"], c.v["n"]
    c.a("acc")[:] += (F32(c.v["f"]) * (c.a("a").reshape(k, m).T @ c.a("b").reshape(k, n))).ravel()


def _xferwv(c: Ctx) -> None:
    acc, w = c.a("acc"), c.a("w")
    hit = np.abs(acc) >= F32(c.v["level"])
    target = np.where(hit, w + acc, w)
    c.a("target")[:] = target
    c.a("mask")[:] = hit
    w[:] = target
    acc[hit] = 0


def _xferp(c: Ctx) -> None:
    acc = c.a("acc")
    p = np.trunc(acc / F32(c.v["eps"]))
    acc -= p * F32(c.v["eps"])
    c.a("pulses")[:] = p


def _adamw(c: Ctx) -> None:
    step = c.regs[c.v["step"]]
    if step < 1:
        raise ValueError(f"adamw step register x{c.v['step']} holds {step}; steps count from 1")
    b1, b2 = c.h(Hyper.BETA1), c.h(Hyper.BETA2)
    g, m, v = c.a("grad"), c.a("m"), c.a("v")
    m[:] = b1 * m + (F32(1) - b1) * g
    v[:] = b2 * v + (F32(1) - b2) * g * g
    m_hat = m / (F32(1) - b1 ** F32(step))
    v_hat = v / (F32(1) - b2 ** F32(step))
    c.a("dw")[:] = -c.h(Hyper.LR) * (m_hat / (np.sqrt(v_hat) + c.h(Hyper.EPS)) + c.h(Hyper.WD) * c.a("w"))


def _sgd(c: Ctx) -> None:
    mom = c.a("mom")
    mom[:] = c.h(Hyper.MOMENTUM) * mom + c.a("grad") + c.h(Hyper.WD) * c.a("w")
    c.a("dw")[:] = -c.h(Hyper.LR) * mom


def _quant(c: Ctx) -> None:
    x = c.a("src") / F32(c.v["scale"])
    bits = c.v["bits"]
    if bits:
        top = F32(2 ** (bits - 1) - 1)
        x = np.clip(np.rint(x), -top, top)
    c.a("dst")[:] = x


def _bn_shape(c: Ctx) -> tuple[int, int, int]:
    return c.v["n"], c.v["c"], c.v["hw"]


def _bnfwd(c: Ctx) -> None:
    n, ch, hw = _bn_shape(c)
    x = c.a("x").reshape(n, ch, hw)
    mean = x.mean(axis=(0, 2), dtype=F32)
    var = ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2), dtype=F32)
    inv = F32(1) / np.sqrt(var + F32(c.v["eps"]))
    xhat = (x - mean[None, :, None]) * inv[None, :, None]
    gb = c.a("gb")
    c.a("xhat")[:] = xhat.ravel()
    c.a("y")[:] = (gb[:ch, None] * xhat + gb[ch:, None]).ravel()
    c.a("stats")[:] = np.concatenate([mean, inv])
    run, mom = c.a("run"), F32(c.v["momentum"])
    count = n * hw
    unbiased = var * F32(count / max(count - 1, 1))
    run[:ch] = (F32(1) - mom) * run[:ch] + mom * mean
    run[ch:] = (F32(1) - mom) * run[ch:] + mom * unbiased


def _bnbwd(c: Ctx) -> None:
    n, ch, hw = _bn_shape(c)
    dy = c.a("dy").reshape(n, ch, hw)
    xhat = c.a("xhat").reshape(n, ch, hw)
    inv = c.a("stats")[ch:]
    gamma = c.a("gb")[:ch]
    s_dy = dy.sum(axis=(0, 2), dtype=F32)
    s_dyx = (dy * xhat).sum(axis=(0, 2), dtype=F32)
    dgb = c.a("dgb")
    dgb[:ch] += s_dyx
    dgb[ch:] += s_dy
    count = F32(n * hw)
    dx = (gamma * inv / count)[None, :, None] * (count * dy - s_dy[None, :, None] - xhat * s_dyx[None, :, None])
    c.a("dx")[:] = dx.ravel()


def _bneval(c: Ctx) -> None:
    n, ch, hw = _bn_shape(c)
    x = c.a("x").reshape(n, ch, hw)
    run, gb = c.a("run"), c.a("gb")
    scale = gb[:ch] / np.sqrt(run[ch:] + F32(c.v["eps"]))
    c.a("y")[:] = (scale[None, :, None] * (x - run[None, :ch, None]) + gb[None, ch:, None]).ravel()


def _gather(c: Ctx) -> None:
    c.a("dst")[:] = c.a("src")[c.pattern]


def _scatter(c: Ctx) -> None:
    c.a("dst")[c.pattern] = c.a("src")


def _scadd(c: Ctx) -> None:
    np.add.at(c.a("dst"), c.pattern, c.a("src"))


def _set(name: str, fn: Callable[[Ctx], np.ndarray]) -> Callable[[Ctx], None]:
    def run(c: Ctx) -> None:
        c.a(name)[:] = fn(c)
    return run


def _pool(reduce: Callable[..., np.ndarray]) -> Callable[[Ctx], None]:
    def run(c: Ctx) -> None:
        wins, _, _ = _pool_windows(c.a("src"), c.v)
        c.a("dst")[:] = reduce(wins, axis=-1).ravel()
    return run


def _hp(c: Ctx) -> None:
    c.hyper[c.v["name"]] = float(c.v["f"])


NUMERICS: dict[str, Callable[[Ctx], None]] = {
    "copy": _set("dst", lambda c: c.a("src").copy()),
    "gather": _gather,
    "scatter": _scatter,
    "scadd": _scadd,
    "vadd": _set("dst", lambda c: c.a("a") + c.a("b")),
    "vsub": _set("dst", lambda c: c.a("a") - c.a("b")),
    "vmul": _set("dst", lambda c: c.a("a") * c.a("b")),
    "vmax": _set("dst", lambda c: np.maximum(c.a("a"), c.a("b"))),
    "vmin": _set("dst", lambda c: np.minimum(c.a("a"), c.a("b"))),
    "vcmpeq": _set("dst", lambda c: (c.a("a") == c.a("b")).astype(F32)),
    "vscl": _set("dst", lambda c: F32(c.v["f"]) * c.a("a")),
    "vaxpy": _set("dst", lambda c: F32(c.v["f"]) * c.a("a") + c.a("b")),
    "vfill": _set("dst", lambda c: F32(c.v["f"])),
    "vclamp": _set("dst", lambda c: np.clip(c.a("a"), -F32(c.v["f"]), F32(c.v["f"]))),
    "vrelu": _set("dst", lambda c: np.maximum(c.a("a"), F32(0))),
    "vdrelu": _set("dst", lambda c: np.where(c.a("a") > 0, c.a("g"), F32(0))),
    "vaddr": _set("dst", lambda c: (c.a("a").reshape(c.v["rows"], c.v["cols"]) + c.a("b")).ravel()),
    "vsumr": _set("dst", lambda c: c.a("a").reshape(c.v["rows"], c.v["cols"]).sum(axis=0)),
    "vsum": _set("dst", lambda c: c.a("a").sum(dtype=F32)),
    "maxpool": _pool(np.max),
    "avgpool": _pool(np.mean),
    "maxpoolb": _maxpoolb,
    "avgpoolb": _avgpoolb,
    "sxent": _sxent,
    "mm": _mm,
    "opacc": _opacc,
    "xferwv": _xferwv,
    "xferp": _xferp,
    "hp": _hp,
    "adamw": _adamw,
    "sgd": _sgd,
    "quant": _quant,
    "bnfwd": _bnfwd,
    "bnbwd": _bnbwd,
    "bneval": _bneval,
    "argmax": _set("dst", lambda c: np.argmax(c.a("src").reshape(c.v["n"], c.v["classes"]), axis=1)),
}
