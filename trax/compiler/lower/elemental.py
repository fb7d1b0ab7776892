"""Elemental lowering: a value as a function of its index.

A fusible ("elemental") primitive is lowered as a rule that computes ONE
element of its output at an :class:`Index`, reading its operands' elements
with ``ctx.read(var, index)`` at indices derived from it. Fusion is then
free: reading an operand either loads from a buffer or recursively emits the
producer's rule, all inside one loop body (the XLA "elemental IR emitter").

``RULES[name](ctx, eqn, index) -> ir.Value`` (a register value).
``flat_safe(eqn)`` says whether a rule only needs the linear index, so the
kernel may run as one flat loop instead of a loop nest.
"""
import numpy as np
from llvmlite import ir

from trax.core import Literal
from trax.compiler.lower import scalar
from trax.compiler.lower.irtypes import i64, is_float
from trax.compiler.lower.loops import linear_index, split_index

RULES = {}
_FLAT = set()        # rules that never need per-axis indices
_REUSES = {}         # name -> fn(eqn, k): does the rule read operand k's elements repeatedly?


class Index:
    """A position in an array of ``shape``: per-axis indices and/or the
    row-major linear index (i64 values), each derived from the other on
    first use. Use an Index only within the block where it was made."""
    __slots__ = ("shape", "_dims", "_linear")

    def __init__(self, shape, dims=None, linear=None):
        self.shape = tuple(shape)
        self._dims = None if dims is None else list(dims)
        self._linear = linear
        if not self.shape:
            self._dims, self._linear = [], i64(0)

    def dims(self, b):
        if self._dims is None:
            self._dims = split_index(b, self._linear, self.shape)
        return self._dims

    def known_dims(self):
        """The per-axis indices if they are already known, else None."""
        return self._dims

    def linear(self, b):
        if self._linear is None:
            self._linear = linear_index(b, self._dims, self.shape)
        return self._linear


SCALAR = Index(())


def at(linear):
    """An Index known only by its linear position (for flat buffer access)."""
    return Index((-1,), linear=linear)


def rule(*names, flat=False, reuses=None):
    def register(fn):
        for n in names:
            RULES[n] = fn
            if flat:
                _FLAT.add(n)
            if reuses:
                _REUSES[n] = reuses
        return fn
    return register


def flat_safe(eqn):
    """True if the rule of ``eqn`` works from a linear index alone."""
    name = eqn.primitive.name
    if name in _FLAT:
        return True
    if name == "broadcast_in_dim":
        x = eqn.invars[0].aval
        return x.size in (1, eqn.outvars[0].aval.size)
    return False


def reuses(eqn, k):
    """True if ``eqn``'s rule reads elements of operand ``k`` more than once."""
    fn = _REUSES.get(eqn.primitive.name)
    return bool(fn and fn(eqn, k))


def operand_index(var, index):
    """The index at which an elementwise op reads operand ``var``
    (rank-0 operands broadcast)."""
    return index if var.aval.shape == index.shape else SCALAR


# ---------------------------------------------------------------- elementwise

def _elementwise(ctx, eqn, index):
    xs = [ctx.read(v, operand_index(v, index)) for v in eqn.invars]
    dts = [v.aval.dtype for v in eqn.invars]
    emit = scalar.EMITTERS[eqn.primitive.name]
    return emit(ctx.b, xs, dts, eqn.outvars[0].aval.dtype, eqn.params)


for _name in scalar.EMITTERS:
    rule(_name, flat=True)(_elementwise)


def _invariant_divisor(ctx, var, index):
    """Is ``var`` read at the same element across an inner loop (a rank-0
    operand, or a broadcast that stretches a smaller array)?"""
    if var.aval.shape != index.shape:
        return True
    eqn = ctx.inlined.get(var)
    return (eqn is not None and eqn.primitive.name == "broadcast_in_dim"
            and eqn.invars[0].aval.size < var.aval.size)


@rule("div", flat=True)
def _div(ctx, eqn, index):
    """Float division by a loop-invariant divisor is ``x * (1/y)``: LLVM
    hoists ``1/y`` out of the loop (<= 1 ulp more error, as XLA's division
    by a constant; the divide unit is the bottleneck of normalizations like
    ``x / sum(x, keepdims)``). Written out rather than left to LLVM with
    ``arcp``: instcombine turns ``-(x / y)`` into ``(-x) / y`` without the
    flag, and the division stayed in the loop."""
    x, y = eqn.invars
    if not (is_float(y.aval.dtype) and not isinstance(y, Literal)
            and _invariant_divisor(ctx, y, index)):
        return _elementwise(ctx, eqn, index)
    xv = ctx.read(x, operand_index(x, index))
    yv = ctx.read(y, operand_index(y, index))
    if y.aval.dtype == np.float16:
        return ctx.b.fdiv(xv, yv)
    return ctx.b.fmul(xv, ctx.b.fdiv(ir.Constant(yv.type, 1.0), yv), flags=("contract",))


# ---------------------------------------------------------------- index remapping

@rule("reshape", "squeeze", "expand_dims", flat=True)
def _reshape(ctx, eqn, index):
    x = eqn.invars[0]
    return ctx.read(x, Index(x.aval.shape, linear=index.linear(ctx.b)))


def _broadcast_reuses(eqn, k):
    return eqn.outvars[0].aval.size > eqn.invars[0].aval.size


@rule("broadcast_in_dim", reuses=_broadcast_reuses)
def _broadcast_in_dim(ctx, eqn, index):
    x = eqn.invars[0]
    shape = x.aval.shape
    if x.aval.size == 1:
        return ctx.read(x, Index(shape, linear=i64(0)))
    if x.aval.size == eqn.outvars[0].aval.size:
        return ctx.read(x, Index(shape, linear=index.linear(ctx.b)))
    dims = index.dims(ctx.b)
    bdims = eqn.params["broadcast_dimensions"]
    sub = [i64(0) if n == 1 else dims[d] for n, d in zip(shape, bdims)]
    return ctx.read(x, Index(shape, dims=sub))


@rule("transpose")
def _transpose(ctx, eqn, index):
    x = eqn.invars[0]
    perm = eqn.params["permutation"]
    dims = index.dims(ctx.b)
    sub = [None] * len(perm)
    for i, p in enumerate(perm):
        sub[p] = dims[i]
    return ctx.read(x, Index(x.aval.shape, dims=sub))


@rule("rev")
def _rev(ctx, eqn, index):
    x = eqn.invars[0]
    b = ctx.b
    rev = set(eqn.params["dimensions"])
    sub = [b.sub(i64(n - 1), d) if k in rev else d
           for k, (n, d) in enumerate(zip(x.aval.shape, index.dims(b)))]
    return ctx.read(x, Index(x.aval.shape, dims=sub))


@rule("slice")
def _slice(ctx, eqn, index):
    x = eqn.invars[0]
    b = ctx.b
    starts = eqn.params["start_indices"]
    strides = eqn.params.get("strides") or (1,) * len(starts)
    sub = [b.add(b.mul(d, i64(st)), i64(s)) for d, s, st in
           zip(index.dims(b), starts, strides)]
    return ctx.read(x, Index(x.aval.shape, dims=sub))


def clamp_index(b, v, lo, hi):
    """``v`` clamped to [lo, hi] (i64 values, signed)."""
    lo, hi = (i64(t) if isinstance(t, int) else t for t in (lo, hi))
    v = b.select(b.icmp_signed("<", v, lo), lo, v)
    return b.select(b.icmp_signed(">", v, hi), hi, v)


@rule("pad")
def _pad(ctx, eqn, index):
    x, padval = eqn.invars
    b = ctx.b
    fill = ctx.read(padval, SCALAR)
    if x.aval.size == 0:
        return fill
    inside = ir.Constant(ir.IntType(1), 1)
    sub = []
    for d, n, (lo, _, interior) in zip(index.dims(b), x.aval.shape,
                                       eqn.params["padding_config"]):
        j = b.sub(d, i64(lo))
        step = interior + 1
        q = j
        if step != 1:
            q = b.sdiv(j, i64(step))
            on = b.icmp_signed("==", b.srem(j, i64(step)), i64(0))
            inside = b.and_(inside, on)
        ok = b.and_(b.icmp_signed(">=", j, i64(0)), b.icmp_signed("<", q, i64(n)))
        inside = b.and_(inside, ok)
        sub.append(clamp_index(b, q, 0, n - 1))
    return b.select(inside, ctx.read(x, Index(x.aval.shape, dims=sub)), fill)


@rule("concatenate")
def _concatenate(ctx, eqn, index):
    b = ctx.b
    axis = eqn.params["dimension"]
    dims = index.dims(b)
    out, offset = None, 0
    for x in eqn.invars:
        n = x.aval.shape[axis]
        if n == 0:
            continue
        local = clamp_index(b, b.sub(dims[axis], i64(offset)), 0, n - 1)
        sub = dims[:axis] + [local] + dims[axis + 1:]
        val = ctx.read(x, Index(x.aval.shape, dims=sub))
        out = val if out is None else \
            b.select(b.icmp_signed(">=", dims[axis], i64(offset)), val, out)
        offset += n
    return out


@rule("iota")
def _iota(ctx, eqn, index):
    dt = eqn.outvars[0].aval.dtype
    d = index.dims(ctx.b)[eqn.params["dimension"]]
    return scalar.convert(ctx.b, d, np.dtype(np.int64), dt)


# ---------------------------------------------------------------- dynamic indexing

def scalar_index(ctx, var):
    """A rank-0 integer operand as a signed i64 value."""
    v = ctx.read(var, SCALAR)
    return scalar.convert(ctx.b, v, var.aval.dtype, np.dtype(np.int64))


def clamped_starts(ctx, start_vars, operand_shape, sizes):
    """Start indices clamped so the window fits (JAX's dynamic_slice rule)."""
    return [clamp_index(ctx.b, scalar_index(ctx, s), 0, n - m)
            for s, n, m in zip(start_vars, operand_shape, sizes)]


@rule("dynamic_slice")
def _dynamic_slice(ctx, eqn, index):
    x, *starts = eqn.invars
    b = ctx.b
    st = clamped_starts(ctx, starts, x.aval.shape, eqn.params["slice_sizes"])
    sub = [b.add(d, s) for d, s in zip(index.dims(b), st)]
    return ctx.read(x, Index(x.aval.shape, dims=sub))


@rule("dynamic_update_slice")
def _dynamic_update_slice(ctx, eqn, index):
    x, upd, *starts = eqn.invars
    b = ctx.b
    if upd.aval.size == 0:
        return ctx.read(x, index)
    st = clamped_starts(ctx, starts, x.aval.shape, upd.aval.shape)
    inside = ir.Constant(ir.IntType(1), 1)
    sub = []
    for d, s, m in zip(index.dims(b), st, upd.aval.shape):
        j = b.sub(d, s)
        inside = b.and_(inside, b.and_(b.icmp_signed(">=", j, i64(0)),
                                       b.icmp_signed("<", j, i64(m))))
        sub.append(clamp_index(b, j, 0, m - 1))
    new = ctx.read(upd, Index(upd.aval.shape, dims=sub))
    return b.select(inside, new, ctx.read(x, index))

