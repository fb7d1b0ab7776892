"""Reductions as loops, with the operand's producers fused in.

Fast path: reducing trailing axes keeps an accumulator in a register while an
inner loop walks the reduced elements (one flat loop when the fused operand
allows it). Float sums and products carry the ``reassoc`` flag, so LLVM
vectorizes them with several partial accumulators. Other axis sets
accumulate into the output buffer while walking the operand in memory order,
which vectorizes along a kept last axis. Long float sums on either path are
cut into blocks whose sums are combined pairwise (see BLOCK).
"""
import numpy as np
from llvmlite import ir

from trax.core import ShapedArray
from trax.compiler.lower import scalar
from trax.compiler.lower.elemental import SCALAR, Index, at
from trax.compiler.lower.irtypes import I1, I64, const, declare, i64, is_float, is_signed
from trax.compiler.lower.kernels import kernel
from trax.compiler.lower.loops import loop, nest, split_index

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


# Float sums are blocked: a vectorized loop sums a block of at most BLOCK
# elements (a few dozen lane accumulators), and the block sums are combined
# pairwise, so rounding error grows with log2(n) instead of n. The walk in
# memory order (a kept last axis) sums at most ROW_BLOCK elements into each
# output before combining those block sums pairwise.
BLOCK = 1024
ROW_BLOCK = 128


def _blocked(combine, dt):
    return combine is _add and is_float(dt)


class _Pairwise:
    """Combines the results of ``nblocks`` blocks (each ``width`` values,
    kept in a Buffer) pairwise, as a binary counter: level ``l`` holds the
    sum of ``2**l`` consecutive blocks, and pushing block ``k`` first merges
    the ``ctz(k + 1)`` lowest levels into it. Plain (strict) float adds, so
    the order is fixed by the code alone: deterministic."""

    def __init__(self, ctx, dt, nblocks, width):
        self.ctx, self.dt, self.nblocks, self.width = ctx, dt, nblocks, width
        self.shape = (nblocks.bit_length(), width)
        self.levels = ctx.alloc(ShapedArray(self.shape, dt))
        self.count = ctx.alloc(ShapedArray((), np.dtype(np.int64)))

    def start(self):
        self.count.store(self.ctx.b, SCALAR, i64(0))

    def _level(self, lvl, m):
        return Index(self.shape, dims=[lvl, m])

    def push(self, blk):
        """Add the block whose values are in ``blk`` (clobbers ``blk``)."""
        b = self.ctx.b
        k1 = b.add(self.count.load(b, SCALAR), i64(1), flags=("nuw", "nsw"))
        cttz = declare(b.module, "llvm.cttz.i64", ir.FunctionType(I64, [I64, I1]))
        top = b.call(cttz, [k1, ir.Constant(I1, 1)])
        with loop(b, top, "lvl") as lvl, loop(b, self.width, "m") as m:
            at_m = at(m)
            blk.store(b, at_m, b.fadd(self.levels.load(b, self._level(lvl, m)),
                                      blk.load(b, at_m)))
        with loop(b, self.width, "m") as m:
            self.levels.store(b, self._level(top, m), blk.load(b, at(m)))
        self.count.store(b, SCALAR, k1)

    def total(self, dest, index):
        """``dest[index(m)]`` = the sum of all blocks, for each value ``m``."""
        b = self.ctx.b
        with loop(b, self.width, "m") as m:
            v = const(self.dt, 0)
            for lvl in range(self.shape[0]):
                if self.nblocks >> lvl & 1:
                    v = b.fadd(v, self.levels.load(b, self._level(i64(lvl), m)))
            dest.store(b, index(m), v)


def _fold(ctx, acc, x, combine, trips, index):
    """``acc = combine(acc, x[index(js)])`` over the loop nest ``trips``."""
    b = ctx.b
    with nest(b, trips) as js, ctx.scope():
        acc.store(b, SCALAR, combine(b, acc.load(b, SCALAR), ctx.read(x, index(js)),
                                     x.aval.dtype))


def _fold_trailing(ctx, x, acc, init, out, flat, red):
    """``acc`` = the sum of ``x`` over its trailing axes ``red`` at output
    index ``out``, in blocks combined pairwise (see BLOCK)."""
    b = ctx.b
    shape = x.aval.shape
    size = int(np.prod(red, dtype=np.int64))
    dt = x.aval.dtype

    def blocks(count, emit):
        """Blocks ``0..count-1`` by ``emit(k)`` (a loop unless a constant)."""
        if count == 1:
            emit(i64(0))
            return
        with loop(b, count, "blk") as k, ctx.scope():
            emit(k)

    def block(trips, index):
        acc.store(b, SCALAR, const(dt, init))
        _fold(ctx, acc, x, _add, trips, index)
        pw.push(acc)

    if flat:
        full, rem = divmod(size, BLOCK)
        pw = _Pairwise(ctx, dt, full + (rem > 0), 1)
        pw.start()
        base = b.mul(out.linear(b), i64(size))

        def flat_block(start, count):
            block([count], lambda js: Index(shape, linear=b.add(start, js[0])))
        blocks(full, lambda k: flat_block(b.add(base, b.mul(k, i64(BLOCK))), BLOCK))
        if rem:
            flat_block(b.add(base, i64(full * BLOCK)), rem)
    else:
        outer, n = red[:-1], red[-1]
        rows = int(np.prod(outer, dtype=np.int64))
        if n >= BLOCK:      # blocks along the last reduced axis
            full, rem = divmod(n, BLOCK)
            pw = _Pairwise(ctx, dt, rows * (full + (rem > 0)), 1)
            pw.start()
            with nest(b, outer) as od, ctx.scope():
                def seg(start, count):
                    block([count], lambda js: Index(
                        shape, dims=out.dims(b) + od + [b.add(start, js[0])]))
                blocks(full, lambda k: seg(b.mul(k, i64(BLOCK)), BLOCK))
                if rem:
                    seg(i64(full * BLOCK), rem)
        else:               # blocks of whole rows of the last reduced axis
            g = BLOCK // n
            full, rem = divmod(rows, g)
            pw = _Pairwise(ctx, dt, full + (rem > 0), 1)
            pw.start()

            def row_block(start, count):
                block([count, n], lambda js: Index(shape, dims=out.dims(b) + split_index(
                    b, b.add(start, js[0]), outer) + [js[1]]))
            blocks(full, lambda k: row_block(b.mul(k, i64(g)), g))
            if rem:
                row_block(i64(full * g), rem)
    pw.total(acc, lambda m: SCALAR)


def _walk_blocked(ctx, x, axes, buf, init, kept):
    """The memory-order walk of reduce_into for a float sum: the first
    reduced axis is cut into blocks of rows, each summed into a block
    buffer (at most ROW_BLOCK elements into each output), and the block
    buffers are combined pairwise. False if one block is enough."""
    b = ctx.b
    shape = x.aval.shape
    p = axes[0]
    inner = int(np.prod([shape[a] for a in axes[1:]], dtype=np.int64))
    g = max(1, ROW_BLOCK // inner)
    full, rem = divmod(shape[p], g)
    if full + (rem > 0) < 2:
        return False
    dt = x.aval.dtype
    blk = ctx.alloc(buf.aval)
    pw = _Pairwise(ctx, dt, full + (rem > 0), buf.aval.size)
    pw.start()

    def block(start, count):
        _fill(ctx, blk, const(dt, init))
        with nest(b, shape[:p] + (count,) + shape[p + 1:]) as dims, ctx.scope():
            dims[p] = b.add(start, dims[p])
            out = Index(buf.aval.shape, dims=[dims[k] for k in kept])
            blk.store(b, out, _add(b, blk.load(b, out), ctx.read(x, Index(shape, dims=dims)),
                                   dt))
        pw.push(blk)
    with loop(b, full, "blk") as k, ctx.scope():
        block(b.mul(k, i64(g)), g)
    if rem:
        block(i64(full * g), rem)
    pw.total(buf, at)
    return True


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
    blocked = _blocked(combine, dt)
    if axes == tuple(range(nd - len(axes), nd)):
        red = shape[nd - len(axes):]
        size = int(np.prod(red, dtype=np.int64))
        flat = ctx.flat_ok(x)
        acc = ctx.alloc(ShapedArray((), buf.aval.dtype))
        with ctx.elements(buf.aval.shape, flat) as out:
            if blocked and size > BLOCK:
                _fold_trailing(ctx, x, acc, init, out, flat, red)
            else:
                acc.store(b, SCALAR, const(dt, init))
                if flat:
                    base = b.mul(out.linear(b), i64(size))
                    _fold(ctx, acc, x, combine, [size],
                          lambda js: Index(shape, linear=b.add(base, js[0])))
                else:
                    _fold(ctx, acc, x, combine, red,
                          lambda js: Index(shape, dims=out.dims(b) + js))
            buf.store(b, out, acc.load(b, SCALAR))
        return
    kept = [k for k in range(nd) if k not in axes]
    if blocked and _walk_blocked(ctx, x, axes, buf, init, kept):
        return
    _fill(ctx, buf, const(dt, init))
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
