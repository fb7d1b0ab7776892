"""Data-movement primitives: gather (elemental), the scatter family,
cumulative scans and sort (kernels).

Semantics follow trax.lax: gather/scatter have gather_nd semantics, and
their ``mode`` param decides out-of-range rows (clip: clamped; fill_or_drop:
a gather reads ``fill_value``, a scatter drops the row; promise_in_bounds:
a gather clamps, a scatter drops); ``scatter`` lets the last write win;
sort is stable, lexicographic over the first ``num_keys`` operands, NaNs
last.
"""
import numpy as np
from llvmlite import ir

from trax.core import ShapedArray
from trax.lax.helpers import fill_scalar
from trax.compiler.lower import elemental, scalar
from trax.compiler.lower.elemental import SCALAR, Index, at, clamp_index
from trax.compiler.lower.irtypes import I1, I64, const, i64, is_float, is_signed
from trax.compiler.lower.kernels import kernel
from trax.compiler.lower.loops import loop

_I64 = np.dtype(np.int64)


# ---------------------------------------------------------------- gather

def _coordinates(ctx, indices, batch_dims, k):
    """The k coordinates of row ``batch_dims`` of ``indices`` as i64 values."""
    shape = indices.aval.shape
    return [scalar.convert(ctx.b, ctx.read(indices, Index(shape, dims=batch_dims + [i64(j)])),
                           indices.aval.dtype, _I64) for j in range(k)]


def _in_bounds(b, coords, shape):
    """An i1: every coordinate ``c`` of ``coords`` is in ``[0, n)``."""
    ok = ir.Constant(I1, 1)
    for c, n in zip(coords, shape):
        ok = b.and_(ok, b.and_(b.icmp_signed(">=", c, i64(0)), b.icmp_signed("<", c, i64(n))))
    return ok


def _clamped(b, coords, shape):
    return [clamp_index(b, c, 0, max(n - 1, 0)) for c, n in zip(coords, shape)]


@elemental.rule("gather", reuses=lambda eqn, k: True)
def _gather(ctx, eqn, index):
    operand, indices = eqn.invars
    b = ctx.b
    k = indices.aval.shape[-1]
    nb = indices.aval.ndim - 1
    shape = operand.aval.shape
    dims = index.dims(b)
    coords = _coordinates(ctx, indices, dims[:nb], k)
    value = ctx.read(operand, Index(shape, dims=_clamped(b, coords, shape) + dims[nb:]))
    if eqn.params["mode"] != "fill_or_drop":
        return value
    dt = operand.aval.dtype
    fill = const(dt, fill_scalar(dt, eqn.params["fill_value"]))
    return b.select(_in_bounds(b, coords, shape), value, fill)


# ---------------------------------------------------------------- scatter

def _scatter_combine(name):
    if name == "scatter":
        return lambda b, old, new, dt: new
    emit = scalar.EMITTERS[{"scatter_add": "add", "scatter_mul": "mul",
                            "scatter_min": "min", "scatter_max": "max"}[name]]
    return lambda b, old, new, dt: emit(b, [old, new], [dt], dt, {})


@kernel("scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max")
def _scatter(ctx, eqn):
    operand, indices, updates = eqn.invars
    out = eqn.outvars[0]
    buf = ctx.buffers[out]
    combine = _scatter_combine(eqn.primitive.name)
    b = ctx.b
    ctx.store_loop(operand, buf)
    k = indices.aval.shape[-1]
    nb = indices.aval.ndim - 1
    shape = out.aval.shape
    if updates.aval.size == 0:
        return
    with ctx.elements(updates.aval.shape, flat=False) as uidx:
        dims = uidx.dims(b)
        coords = _coordinates(ctx, indices, dims[:nb], k)
        if eqn.params["mode"] == "clip":
            coords = _clamped(b, coords, shape)
        new = ctx.read(updates, uidx)
        ok = _in_bounds(b, coords, shape)    # (clip: False only on empty axes)
        target = Index(shape, dims=coords + dims[nb:])
        lin = target.linear(b)
        with b.if_then(ok):
            where = at(lin)
            buf.store(b, where, combine(b, buf.load(b, where), new, out.aval.dtype))


# ---------------------------------------------------------------- cumulative

_CUMULATIVE = {"cumsum": "add", "cumprod": "mul", "cummax": "max", "cummin": "min"}


@kernel(*_CUMULATIVE)
def _cumulative(ctx, eqn):
    x, = eqn.invars
    out = eqn.outvars[0]
    buf = ctx.buffers[out]
    if out.aval.size == 0:
        return
    emit = scalar.EMITTERS[_CUMULATIVE[eqn.primitive.name]]
    axis, reverse = eqn.params["axis"], eqn.params["reverse"]
    dt = x.aval.dtype
    shape = x.aval.shape
    n = shape[axis]
    b = ctx.b
    # axis-major order: the inner loops run over the axes after `axis`, which
    # are contiguous in memory, so the running combine vectorizes across them
    with ctx.elements(shape[:axis], flat=False) as pre, loop(b, n, "scan") as j, \
            ctx.elements(shape[axis + 1:], flat=False) as post, ctx.scope():
        pos = b.sub(i64(n - 1), j) if reverse else j
        prev = b.add(pos, i64(1)) if reverse else b.sub(pos, i64(1))
        prev = clamp_index(b, prev, 0, n - 1)
        p, q = pre.dims(b), post.dims(b)
        here = Index(shape, dims=p + [pos] + q)
        before = Index(shape, dims=p + [prev] + q)
        v = ctx.read(x, here)
        acc = emit(b, [buf.load(b, before), v], [dt], dt, {})
        buf.store(b, here, b.select(b.icmp_signed("==", j, i64(0)), v, acc))


# ---------------------------------------------------------------- sort

def _less(b, x, y, dt):
    """``x < y`` in sort order (NaNs last)."""
    if is_float(dt):
        lt = b.fcmp_ordered("<", x, y)
        return b.or_(lt, b.and_(b.fcmp_unordered("uno", y, y), b.fcmp_ordered("ord", x, x)))
    if dt == np.bool_:
        return b.and_(b.not_(x), y)
    return (b.icmp_signed if is_signed(dt) else b.icmp_unsigned)("<", x, y)


@kernel("sort")
def _sort(ctx, eqn):
    """Per row: a stable bottom-up merge sort of positions, then a gather."""
    operands = eqn.invars
    d, num_keys = eqn.params["dimension"], eqn.params["num_keys"]
    shape = operands[0].aval.shape
    n = shape[d]
    if operands[0].aval.size == 0:
        return
    b = ctx.b
    keys = [ctx.buffer(v) for v in operands[:num_keys]]
    perms = [ctx.alloc(ShapedArray((n,), _I64)) for _ in range(2)]
    ivar = [ctx.alloc(ShapedArray((), _I64)) for _ in range(2)]
    outer_shape = shape[:d] + shape[d + 1:]
    with ctx.elements(outer_shape, flat=False) as outer:
        od = outer.dims(b)

        def key_at(kbuf, p):
            return kbuf.load(b, Index(shape, dims=od[:d] + [p] + od[d:]))

        def less(p, q):
            result = ir.Constant(I1, 0)
            for kbuf in reversed(keys):
                x, y = key_at(kbuf, p), key_at(kbuf, q)
                dt = kbuf.aval.dtype
                lt, gt = _less(b, x, y, dt), _less(b, y, x, dt)
                result = b.or_(lt, b.and_(b.not_(gt), result))
            return result

        with loop(b, n, "init") as t:
            perms[0].store(b, at(t), t)
        src, dst = perms
        width = 1
        while width < n:
            with loop(b, -(-n // (2 * width)), "blk") as blk:
                lo = b.mul(blk, i64(2 * width))
                mid = b.select(b.icmp_signed("<", b.add(lo, i64(width)), i64(n)),
                               b.add(lo, i64(width)), i64(n))
                hi = b.select(b.icmp_signed("<", b.add(lo, i64(2 * width)), i64(n)),
                              b.add(lo, i64(2 * width)), i64(n))
                ivar[0].store(b, SCALAR, lo)
                ivar[1].store(b, SCALAR, mid)
                with loop(b, b.sub(hi, lo), "mrg") as t:
                    i, j = ivar[0].load(b, SCALAR), ivar[1].load(b, SCALAR)
                    pi = src.load(b, at(clamp_index(b, i, 0, n - 1)))
                    pj = src.load(b, at(clamp_index(b, j, 0, n - 1)))
                    left_ok = b.icmp_signed("<", i, mid)
                    right_done = b.icmp_signed(">=", j, hi)
                    take_left = b.and_(left_ok, b.or_(right_done, b.not_(less(pj, pi))))
                    dst.store(b, at(b.add(lo, t)), b.select(take_left, pi, pj))
                    ivar[0].store(b, SCALAR, b.add(i, b.zext(take_left, I64)))
                    ivar[1].store(b, SCALAR, b.add(j, b.zext(b.not_(take_left), I64)))
            src, dst = dst, src
            width *= 2
        with loop(b, n, "take") as t, ctx.scope():
            p = src.load(b, at(t))
            for v, o in zip(operands, eqn.outvars):
                val = ctx.read(v, Index(shape, dims=od[:d] + [p] + od[d:]))
                ctx.buffers[o].store(b, Index(shape, dims=od[:d] + [t] + od[d:]), val)
