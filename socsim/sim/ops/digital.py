"""Digital-unit operations: FP32 numerics over lanes and the work that prices them.

Every function takes :class:`Operands` whose arrays have a leading lane axis (L, words). What a lane
computes never depends on the other lanes: elementwise numpy operations, stacked ``np.matmul`` (one
BLAS call of the same shape per lane) and reductions along a lane's own axes; batch-norm statistics
are computed lane by lane. Accumulating instructions go through :meth:`Operands.accumulate`, so a
lane-parallel loop can add its lanes into a reduced symbol in iteration order.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from isa.program import BadOperand
from isa.spec import Hyper
from socsim.base.geometry import window_out
from socsim.sim.ops.base import F32, Op, Operands, TimingOnly, Work, add_into
from socsim.sim.ops.digital_kernels import first_bad_scale, quantize_lanes
from socsim.sim.ops.histogram import HISTOGRAM
from socsim.sim.ops.kernels import maxpool_back

_NONE: frozenset[str] = frozenset()


def pool_out(v: dict) -> int:
    """Output words of a k x k pooling with stride s over planes of h x w."""
    return v["planes"] * window_out(v["h"], v["k"], v["s"]) * window_out(v["w"], v["k"], v["s"])


def _check_pool(v: dict) -> None:
    h, w, k, s = v["h"], v["w"], v["k"], v["s"]
    if k < 1 or s < 1 or k > h or k > w:
        raise BadOperand(f"a {k} x {k} pooling window with stride {s} does not fit planes of {h} x {w}")


def _window_views(c: Operands) -> tuple[list[np.ndarray], int, int]:
    """The k*k strided views (L, planes, oh, ow) of ``src``, one per window offset in row-major order."""
    v = c.v
    _check_pool(v)
    planes, h, w, k, s = v["planes"], v["h"], v["w"], v["k"], v["s"]
    oh, ow = window_out(h, k, s), window_out(w, k, s)
    x = c.a("src").reshape(c.lanes, planes, h, w)
    return [x[:, :, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s] for ky in range(k) for kx in range(k)], \
        oh, ow


def _maxpool(c: Operands) -> None:
    views, _, _ = _window_views(c)
    out = views[0].copy()
    for view in views[1:]:  # a running maximum in window order (what np.max over the window computes)
        np.maximum(out, view, out=out)
    c.put("dst", out.reshape(c.lanes, -1))


def _avgpool(c: Operands) -> None:
    views, _, _ = _window_views(c)
    c.put("dst", np.stack(views, axis=-1).mean(axis=-1).reshape(c.lanes, -1))


def _pool_back(c: Operands, per_offset) -> None:
    """Add window offset j's gradient ``per_offset(j)`` (L, planes, oh, ow) onto the input planes, j in order."""
    v = c.v
    planes, h, w, k, s = v["planes"], v["h"], v["w"], v["k"], v["s"]
    oh, ow = window_out(h, k, s), window_out(w, k, s)
    out = np.zeros((c.lanes, planes, h, w), dtype=F32)
    for j in range(k * k):
        ky, kx = divmod(j, k)
        out[:, :, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s] += per_offset(j)
    c.put("dst", out.reshape(c.lanes, -1))


def _maxpoolb(c: Operands) -> None:
    v = c.v
    _check_pool(v)
    maxpool_back(c.a("src"), c.a("gout"), c.a("dst"), v["planes"], v["h"], v["w"], v["k"], v["s"],
                 window_out(v["h"], v["k"], v["s"]), window_out(v["w"], v["k"], v["s"]))


def _avgpoolb(c: Operands) -> None:
    v = c.v
    _check_pool(v)
    k, s = v["k"], v["s"]
    oh, ow = window_out(v["h"], k, s), window_out(v["w"], k, s)
    g = c.a("gout").reshape(c.lanes, v["planes"], oh, ow) / F32(k * k)
    _pool_back(c, lambda j: g)


def _sxent(c: Operands) -> None:
    n, classes = c.v["n"], c.v["classes"]
    z = c.a("logits").reshape(c.lanes, n, classes)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    labels = c.a("labels").astype(np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= classes:
        raise BadOperand(f"a label is outside 0 .. {classes - 1}")
    lane, row = np.meshgrid(np.arange(c.lanes), np.arange(n), indexing="ij")
    p[lane, row, labels] -= F32(1.0)
    c.put("dst", (p / F32(n)).reshape(c.lanes, -1))


def _mm(c: Operands) -> None:
    lanes, m, k, n = c.lanes, c.v["m"], c.v["k"], c.v["n"]
    a = c.a("a").reshape(lanes, k, m).transpose(0, 2, 1) if c.v["ta"] else c.a("a").reshape(lanes, m, k)
    b = c.a("b").reshape(lanes, n, k).transpose(0, 2, 1) if c.v["tb"] else c.a("b").reshape(lanes, k, n)
    out = np.matmul(a, b).reshape(lanes, -1)
    if c.v["acc"]:
        c.accumulate("dst", out, add_into)
    else:
        c.put("dst", out)


def _opacc(c: Operands) -> None:
    lanes, k, m, n = c.lanes, c.v["k"], c.v["m"], c.v["n"]
    prod = np.matmul(c.a("a").reshape(lanes, k, m).transpose(0, 2, 1), c.a("b").reshape(lanes, k, n))
    c.accumulate("acc", (F32(c.v["f"]) * prod).reshape(lanes, -1), add_into)


def _vadd(c: Operands) -> None:
    if c.reduced("dst"):  # dst += the other operand (dst is a or b: checked when the loop is planned)
        c.accumulate("dst", c.a("b" if c.same("dst", "a") else "a"), add_into)
    else:
        c.put("dst", c.a("a") + c.a("b"))


def _xferwv(c: Operands) -> None:
    acc, w = c.a("acc"), c.a("w")
    hit = np.abs(acc) >= F32(c.v["level"])
    target = np.where(hit, w + acc, w)
    c.put("target", target)
    c.put("mask", hit)
    w[...] = target
    acc[hit] = 0


def _xferp(c: Operands) -> None:
    acc = c.a("acc")
    p = np.trunc(acc / F32(c.v["eps"]))
    acc -= p * F32(c.v["eps"])
    c.put("pulses", p)


def _adamw(c: Operands) -> None:
    step = c.regs[c.v["step"]]
    if step < 1:
        raise BadOperand(f"adamw step register x{c.v['step']} holds {step}; steps count from 1")
    b1, b2 = c.h(Hyper.BETA1), c.h(Hyper.BETA2)
    g, m, v = c.a("grad"), c.a("m"), c.a("v")
    m[...] = b1 * m + (F32(1) - b1) * g
    v[...] = b2 * v + (F32(1) - b2) * g * g
    m_hat = m / (F32(1) - b1 ** F32(step))
    v_hat = v / (F32(1) - b2 ** F32(step))
    c.put("dw", -c.h(Hyper.LR) * (m_hat / (np.sqrt(v_hat) + c.h(Hyper.EPS)) + c.h(Hyper.WD) * c.a("w")))


def _sgd(c: Operands) -> None:
    mom = c.a("mom")
    mom[...] = c.h(Hyper.MOMENTUM) * mom + c.a("grad") + c.h(Hyper.WD) * c.a("w")
    c.put("dw", -c.h(Hyper.LR) * mom)


def quantize(x: np.ndarray, scale: float, bits: int) -> np.ndarray:
    """DAC codes: clip(round_half_even(x / scale), +-(2^(bits-1) - 1)); bits = 0: x / scale (analog inputs)."""
    return quantize_by(x, F32(scale), bits)


def _quant(c: Operands) -> None:
    c.put("dst", quantize(c.a("src"), c.v["scale"], c.v["bits"]))


UNSET_SCALE = ("a scale of 0 is most often a word no program has written: a compiled NET.eval.s (or NET.cal.s) "
               "reads the scales NET.init.s writes, so run it after NET.init.s (socsim run NET.bundle, or "
               "NET.init.s NET.eval.s)")
"""Why a zero scale operand traps: the likeliest cause, an evaluation program run without its init program."""


def scale_operand(c: Operands, name: str) -> np.ndarray:
    """A one-word operand of every lane as (L, 1) float32; ValueError unless each is finite and positive."""
    v = c.a(name)[:, :1]
    if first_bad_scale(v) >= 0:
        unset = f"; {UNSET_SCALE}" if (v == 0).any() else ""
        raise BadOperand(f"operand {name} = {float(v.min())}: expected a finite scale > 0{unset}")
    return v


def quantize_by(x: np.ndarray, scale: np.ndarray | np.float32, bits: int) -> np.ndarray:
    """DAC codes of x (L, n) float32 with a float32 scale (one, or every lane's (L, 1) in memory):
    clip(round_half_even(x / scale), +-(2^(bits-1) - 1)); bits = 0: x / scale (analog inputs). One pass, without
    the interpreter lock (:func:`socsim.sim.ops.digital_kernels.quantize_lanes`)."""
    if x.ndim != 2 or x.dtype != F32:
        raise TypeError(f"quantize_by: x must be (lanes, words) float32, got {x.dtype} {x.shape}")
    per_lane = np.broadcast_to(np.asarray(scale, F32).reshape(-1), (x.shape[0],))
    out = np.empty(x.shape, F32)
    quantize_lanes(x, per_lane, bits, out)
    return out


def _quantm(c: Operands) -> None:
    c.put("dst", quantize_by(c.a("src"), scale_operand(c, "scale"), c.v["bits"]))


def _vamax(c: Operands) -> None:
    c.put("dst", np.abs(c.a("a")).max(axis=1, initial=F32(0))[:, None])


def _r4q(c: Operands) -> None:
    """Radix-4 FP4 codes of ``src`` with the per-tensor power-of-two scale of ``amax`` (docs/isa.md, ``r4q``)."""
    exps, phase = c.v["exps"], c.v["phase"]
    if not 1 <= exps <= 8:
        raise BadOperand(f"r4q: exps = {exps}; a radix-4 format has 1 .. 8 nonzero magnitudes")
    amax = c.a("amax")[:, 0].astype(np.float64)
    if not np.isfinite(amax).all() or (amax < 0).any():
        raise BadOperand(f"r4q: the scale statistic amax[0] = {amax[~np.isfinite(amax) | (amax < 0)][0]!r} must be "
                         "finite and >= 0")
    mant, e = np.frexp(amax)                      # amax = mant 2^e, mant in [0.5, 1)
    e = np.where(mant == 0.5, e - 1, e)           # e0: the smallest e with 2^e >= amax
    frac = amax / np.ldexp(1.0, e)                # amax / 2^e0, in (0.5, 1]
    # the phase's parity: even (4^k) or odd (2 4^k) powers; the nearest of them to amax (linear midpoint 0.625 2^e0)
    e = np.where((e - phase) % 2 == 0, np.where(frac >= 0.625, e, e - 2), e - 1)
    e = np.where(amax == 0, phase, e)
    unit = np.ldexp(np.float32(1), (e - 2 * (exps - 1)).astype(np.int64)).astype(F32)   # (L,)
    x = c.a("src")
    r = np.abs(x) / unit[:, None]
    thresholds = np.array([0.5] + [2.5 * 4.0 ** j for j in range(exps - 1)], F32)
    k = np.searchsorted(thresholds, r, side="right")
    mag = np.where(k > 0, np.ldexp(F32(1), 2 * np.maximum(k - 1, 0)), F32(0)).astype(F32)
    c.put("dst", np.where(mag > 0, np.copysign(mag, x), F32(0)))
    c.put("unit", unit[:, None])


def _bn_view(c: Operands, name: str) -> np.ndarray:
    return c.a(name).reshape(c.lanes, c.v["n"], c.v["c"], c.v["hw"])


def _bnfwd(c: Operands) -> None:
    lanes, n, ch, hw = c.lanes, c.v["n"], c.v["c"], c.v["hw"]
    x = _bn_view(c, "x")
    mean = np.empty((lanes, ch), F32)
    var = np.empty((lanes, ch), F32)
    for lane in range(lanes):  # each lane's statistics over its own (n, hw) axes, as it would alone
        mean[lane] = x[lane].mean(axis=(0, 2), dtype=F32)
        var[lane] = ((x[lane] - mean[lane][None, :, None]) ** 2).mean(axis=(0, 2), dtype=F32)
    inv = F32(1) / np.sqrt(var + F32(c.v["eps"]))
    xhat = (x - mean[:, None, :, None]) * inv[:, None, :, None]
    gb = c.a("gb")
    c.put("xhat", xhat.reshape(lanes, -1))
    c.put("y", (gb[:, None, :ch, None] * xhat + gb[:, None, ch:, None]).reshape(lanes, -1))
    c.put("stats", np.concatenate([mean, inv], axis=1))
    count = n * hw
    unbiased = var * F32(count / max(count - 1, 1))
    c.accumulate("run", np.concatenate([mean, unbiased], axis=1), _blend(F32(c.v["momentum"])))


def _blend(mom: np.float32) -> Callable[[np.ndarray, np.ndarray], None]:
    """run = (1 - mom) run + mom stat: the running statistics' update."""
    def apply(run: np.ndarray, stat: np.ndarray) -> None:
        run[...] = (F32(1) - mom) * run + mom * stat
    return apply


def _bnbwd(c: Operands) -> None:
    lanes, n, ch, hw = c.lanes, c.v["n"], c.v["c"], c.v["hw"]
    dy, xhat = _bn_view(c, "dy"), _bn_view(c, "xhat")
    inv = c.a("stats")[:, ch:]
    gamma = c.a("gb")[:, :ch]
    s_dy = np.empty((lanes, ch), F32)
    s_dyx = np.empty((lanes, ch), F32)
    for lane in range(lanes):
        s_dy[lane] = dy[lane].sum(axis=(0, 2), dtype=F32)
        s_dyx[lane] = (dy[lane] * xhat[lane]).sum(axis=(0, 2), dtype=F32)
    c.accumulate("dgb", np.concatenate([s_dyx, s_dy], axis=1), add_into)
    count = F32(n * hw)
    dx = ((gamma * inv / count)[:, None, :, None]
          * (count * dy - s_dy[:, None, :, None] - xhat * s_dyx[:, None, :, None]))
    c.put("dx", dx.reshape(lanes, -1))


def _bneval(c: Operands) -> None:
    ch = c.v["c"]
    x = _bn_view(c, "x")
    run, gb = c.a("run"), c.a("gb")
    scale = gb[:, :ch] / np.sqrt(run[:, ch:] + F32(c.v["eps"]))
    c.put("y", (scale[:, None, :, None] * (x - run[:, None, :ch, None]) + gb[:, None, ch:, None]).reshape(
        c.lanes, -1))


def _argmax(c: Operands) -> None:
    c.put("dst", np.argmax(c.a("src").reshape(c.lanes, c.v["n"], c.v["classes"]), axis=-1))


def _hp(c: Operands) -> None:
    c.hyper[c.v["name"]] = float(c.v["f"])


def _set(fn: Callable[[Operands], np.ndarray]) -> Callable[[Operands], None]:
    def run(c: Operands) -> None:
        c.put("dst", fn(c))
    return run


def _n(v: dict) -> int:
    return int(v["n"])


def _elementwise(ops: int = 0, macs: int = 0, special: int = 0) -> Callable[[dict], Work]:
    """Work of an instruction with ``ops`` / ``macs`` / ``special`` operations per element of n."""
    return lambda v: (ops * _n(v), macs * _n(v), special * _n(v))


def _always(name: str) -> Callable[[dict, Callable[[str, str], bool]], frozenset[str]]:
    """Op.reducible of an instruction that always accumulates into operand ``name``."""
    into = frozenset({name})
    return lambda v, same: into


def _vadd_reduces(v: dict, same: Callable[[str, str], bool]) -> frozenset[str]:
    """vadd accumulates into dst when dst is one of its sources (dst += term)."""
    return frozenset({"dst"}) if same("dst", "a") or same("dst", "b") else _NONE


def _mm_reduces(v: dict, same: Callable[[str, str], bool]) -> frozenset[str]:
    return frozenset({"dst"}) if v["acc"] else _NONE


def _mm_overwrites(v: dict) -> frozenset[str]:
    """mm without acc only writes its read-write destination."""
    return _NONE if v["acc"] else frozenset({"dst"})


def _du(numerics: Callable[[Operands], None], work: Callable[[dict], Work], **parts: Any) -> Op:
    """A digital-unit op: its numerics over lanes, its work from the field values, and its other parts (Op)."""
    return Op(numerics=numerics, work=work, **parts)


DIGITAL: dict[str, Op] = {
    "vadd": _du(_vadd, _elementwise(ops=1), reducible=_vadd_reduces),
    "vsub": _du(_set(lambda c: c.a("a") - c.a("b")), _elementwise(ops=1)),
    "vmul": _du(_set(lambda c: c.a("a") * c.a("b")), _elementwise(macs=1)),
    "vmax": _du(_set(lambda c: np.maximum(c.a("a"), c.a("b"))), _elementwise(ops=1), only_moves=True),
    "vmin": _du(_set(lambda c: np.minimum(c.a("a"), c.a("b"))), _elementwise(ops=1), only_moves=True),
    "vcmpeq": _du(_set(lambda c: (c.a("a") == c.a("b")).astype(F32)), _elementwise(ops=1), only_moves=True),
    "vscl": _du(_set(lambda c: F32(c.v["f"]) * c.a("a")), _elementwise(macs=1)),
    "vaxpy": _du(_set(lambda c: F32(c.v["f"]) * c.a("a") + c.a("b")), _elementwise(macs=1)),
    "vfill": _du(_set(lambda c: F32(c.v["f"])), _elementwise(ops=1), only_moves=True),
    "vclamp": _du(_set(lambda c: np.clip(c.a("a"), -F32(c.v["f"]), F32(c.v["f"]))), _elementwise(ops=2),
                  only_moves=True),
    "vrelu": _du(_set(lambda c: np.maximum(c.a("a"), F32(0))), _elementwise(ops=1), only_moves=True),
    "vdrelu": _du(_set(lambda c: np.where(c.a("a") > 0, c.a("g"), F32(0))), _elementwise(ops=1), only_moves=True),
    "vaddr": _du(_set(lambda c: (c.a("a").reshape(c.lanes, c.v["rows"], c.v["cols"]) + c.a("b")[:, None, :]).reshape(
        c.lanes, -1)), lambda v: (v["rows"] * v["cols"], 0, 0)),
    "vsumr": _du(_set(lambda c: c.a("a").reshape(c.lanes, c.v["rows"], c.v["cols"]).sum(axis=1)),
              lambda v: (v["rows"] * v["cols"], 0, 0)),
    "vsum": _du(_set(lambda c: c.a("a").sum(axis=1, dtype=F32)[:, None]), _elementwise(ops=1)),
    "maxpool": _du(_maxpool, lambda v: (pool_out(v) * v["k"] * v["k"], 0, 0), only_moves=True),
    "avgpool": _du(_avgpool, lambda v: (pool_out(v) * v["k"] * v["k"], pool_out(v), 0)),
    "maxpoolb": _du(_maxpoolb, lambda v: (2 * pool_out(v) * v["k"] * v["k"], 0, 0), only_moves=True),
    "avgpoolb": _du(_avgpoolb, lambda v: (pool_out(v) * v["k"] * v["k"], pool_out(v), 0)),
    "sxent": _du(_sxent, lambda v: (3 * v["n"] * v["classes"], 0, v["n"] * v["classes"] + v["n"])),
    "mm": _du(_mm, lambda v: (0, v["m"] * v["k"] * v["n"], 0),
              reducible=_mm_reduces, overwrites=_mm_overwrites),
    "opacc": _du(_opacc, lambda v: (0, v["k"] * v["m"] * v["n"] + v["m"] * v["n"], 0), reducible=_always("acc")),
    "xferwv": _du(_xferwv, _elementwise(ops=4)),
    "xferp": _du(_xferp, _elementwise(ops=1, macs=1, special=1)),
    "hp": _du(_hp, lambda v: (0, 0, 0), timing_only=TimingOnly.EXECUTE, lane_shared=True),
    "adamw": _du(_adamw, _elementwise(ops=3, macs=6, special=2), lane_fixed=("step",)),
    "sgd": _du(_sgd, _elementwise(macs=3)),
    "quant": _du(_quant, _elementwise(ops=2, special=1)),
    "quantm": _du(_quantm, _elementwise(ops=2, special=1)),
    "vsclm": _du(_set(lambda c: F32(c.v["f"]) * c.a("s")[:, :1] * c.a("a")), _elementwise(macs=1)),
    "vamax": _du(_vamax, _elementwise(ops=1), only_moves=True),
    "r4q": _du(_r4q, _elementwise(ops=4)),
    "argmax": _du(_argmax, lambda v: (v["n"] * v["classes"], 0, 0), only_moves=True),
    "bnfwd": _du(_bnfwd, lambda v: (3 * v["n"] * v["c"] * v["hw"], 2 * v["n"] * v["c"] * v["hw"] + 4 * v["c"],
                                 2 * v["c"]), reducible=_always("run")),
    "bnbwd": _du(_bnbwd, lambda v: (4 * v["n"] * v["c"] * v["hw"], 3 * v["n"] * v["c"] * v["hw"], v["c"]),
              reducible=_always("dgb")),
    "bneval": _du(_bneval, lambda v: (v["n"] * v["c"] * v["hw"], v["n"] * v["c"] * v["hw"], 2 * v["c"])),
}
"""mnemonic -> its op (numerics over lanes, work from the field values, what a lane-parallel loop may reduce into)."""
DIGITAL.update(HISTOGRAM)

