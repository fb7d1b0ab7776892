"""Reductions as loops, with the operand's producers fused in.

Fast path: reducing trailing axes keeps an accumulator in a register while an
inner loop walks the reduced elements (one flat loop when the fused operand
allows it). Float sums and products carry the ``reassoc`` flag, so LLVM
vectorizes them with several partial accumulators. Other axis sets
accumulate into the output buffer while walking the operand in memory order,
which vectorizes along a kept last axis.
"""
import numpy as np

from trax.core import ShapedArray
from trax.compiler.lower import scalar
from trax.compiler.lower.elemental import SCALAR, Index
from trax.compiler.lower.irtypes import const, i64, is_float, is_signed
from trax.compiler.lower.kernels import kernel
from trax.compiler.lower.loops import loop, nest

_REASSOC = ("reassoc", "contract")


def _add(b, x, y, dt):
    return b.fadd(x, y, flags=_REASSOC) if is_float(dt) else b.add(x, y)


def _mul(b, x, y, dt):
    return b.fmul(x, y, flags=_REASSOC) if is_float(dt) else b.mul(x, y)


def _max(b, x, y, dt):
    return scalar.EMITTERS["max"](b, [x, y], [dt], dt, {})


def _min(b, x, y, dt):
    return scalar.EMITTERS["min"](b, [x, y], [dt], dt, {})


def _extreme(dt, big):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return np.inf if big else -np.inf
    if dt.kind == "b":
        return big
    info = np.iinfo(dt)
    return info.max if big else info.min


# name -> (combine(b, acc, x, dtype), identity(dtype))
MONOIDS = {
    "reduce_sum": (_add, lambda dt: 0),
    "reduce_prod": (_mul, lambda dt: 1),
    "reduce_max": (_max, lambda dt: _extreme(dt, False)),
    "reduce_min": (_min, lambda dt: _extreme(dt, True)),
    "reduce_and": (lambda b, x, y, dt: b.and_(x, y), lambda dt: -1 if is_signed(dt) else
                   np.iinfo(dt).max if np.dtype(dt).kind == "u" else True),
    "reduce_or": (lambda b, x, y, dt: b.or_(x, y), lambda dt: 0),
}


def _fill(ctx, buf, value):
    with ctx.elements(buf.aval.shape) as idx:
        buf.store(ctx.b, idx, value)


def reduce_into(ctx, x, axes, buf, combine, init):
    """``buf[kept] = fold(combine, x[...], init)`` over ``axes`` of ``x``."""
    b = ctx.b
    dt = x.aval.dtype
    shape = x.aval.shape
    nd = len(shape)
    axes = tuple(sorted(axes))
    if buf.aval.size == 0:
        return
    if x.aval.size == 0:
        return _fill(ctx, buf, const(dt, init))
    if axes == tuple(range(nd - len(axes), nd)):
        red = shape[nd - len(axes):]
        size = int(np.prod(red, dtype=np.int64))
        flat = ctx.flat_ok(x)
        acc = ctx.alloc(ShapedArray((), buf.aval.dtype))
        with ctx.elements(buf.aval.shape, flat) as out:
            acc.store(b, SCALAR, const(dt, init))
            if flat:
                base = b.mul(out.linear(b), i64(size))
                with loop(b, size) as j, ctx.scope():
                    idx = Index(shape, linear=b.add(base, j))
                    acc.store(b, SCALAR, combine(b, acc.load(b, SCALAR), ctx.read(x, idx), dt))
            else:
                with nest(b, red) as dims, ctx.scope():
                    idx = Index(shape, dims=out.dims(b) + dims)
                    acc.store(b, SCALAR, combine(b, acc.load(b, SCALAR), ctx.read(x, idx), dt))
            buf.store(b, out, acc.load(b, SCALAR))
        return
    _fill(ctx, buf, const(dt, init))
    kept = [k for k in range(nd) if k not in axes]
    with ctx.elements(shape, flat=False) as idx:
        dims = idx.dims(b)
        out = Index(buf.aval.shape, dims=[dims[k] for k in kept])
        buf.store(b, out, combine(b, buf.load(b, out), ctx.read(x, idx), dt))


@kernel(*MONOIDS)
def _reduce(ctx, eqn):
    combine, identity = MONOIDS[eqn.primitive.name]
    x, = eqn.invars
    out = eqn.outvars[0]
    reduce_into(ctx, x, eqn.params["axes"], ctx.buffers[out], combine,
                identity(x.aval.dtype))


# ---------------------------------------------------------------- argmax / argmin

def _better(b, x, best, dt, want_max):
    """Does ``x`` replace the running best? (the first NaN wins, as in numpy)"""
    if is_float(dt):
        strict = b.fcmp_ordered(">" if want_max else "<", x, best)
        x_nan = b.fcmp_unordered("uno", x, x)
        best_nan = b.fcmp_unordered("uno", best, best)
        return b.or_(strict, b.and_(x_nan, b.not_(best_nan)))
    cmp = b.icmp_signed if is_signed(dt) else b.icmp_unsigned
    return cmp(">" if want_max else "<", x, best)


def _arg_reduce(want_max):
    def rule(ctx, eqn):
        x, = eqn.invars
        out = eqn.outvars[0]
        axis = eqn.params["axis"]
        b = ctx.b
        shape = x.aval.shape
        dt = x.aval.dtype
        ot = out.aval.dtype
        buf = ctx.buffers[out]
        best = ctx.alloc(ShapedArray((), dt))
        where = ctx.alloc(ShapedArray((), np.dtype(np.int64)))
        outer = shape[:axis] + shape[axis + 1:]
        with ctx.elements(outer, flat=False) as o:
            where.store(b, SCALAR, i64(0))
            with loop(b, shape[axis]) as j, ctx.scope():
                od = o.dims(b)
                idx = Index(shape, dims=od[:axis] + [j] + od[axis:])
                v = ctx.read(x, idx)
                take = b.or_(b.icmp_signed("==", j, i64(0)),
                             _better(b, v, best.load(b, SCALAR), dt, want_max))
                best.store(b, SCALAR, b.select(take, v, best.load(b, SCALAR)))
                where.store(b, SCALAR, b.select(take, j, where.load(b, SCALAR)))
            pos = scalar.convert(b, where.load(b, SCALAR), np.dtype(np.int64), ot)
            buf.store(b, o, pos)
    return rule


kernel("argmax")(_arg_reduce(True))
kernel("argmin")(_arg_reduce(False))
