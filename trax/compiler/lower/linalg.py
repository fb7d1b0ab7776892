"""dot_general: packed operands, then BLAS gemm or a loop nest.

The operands are brought to ``A[batch, M, K]`` and ``B[batch, K, N]`` (the
output ``C[batch, M, N]`` is already dot_general's layout). An operand that
is in memory in that layout -- or in the transposed one, handled with gemm's
transpose flags -- is used in place; otherwise one loop packs it (fusing its
producers and any dtype conversion). float32/float64 products large enough
to amortize a call go to the BLAS numpy ships (see runtime/blas.py); the rest run a
generated i-k-j loop nest, which vectorizes along N.
"""
import numpy as np
from llvmlite import ir

from trax.core import ShapedArray, Var
from trax.compiler.runtime import blas
from trax.compiler.lower import scalar
from trax.compiler.lower.elemental import Index, at
from trax.compiler.lower.irtypes import I32, VOID, const, i64, is_float, reg_type
from trax.compiler.lower.kernels import kernel
from trax.compiler.lower.loops import loop



def _operand(ctx, var, layouts, dtype):
    """``(buffer, transposed)``: ``var`` in memory in one of ``layouts``
    (``[(perm, transposed)]``, preferred first), packed if need be."""
    if isinstance(var, Var) and var in ctx.buffers and var.aval.dtype == dtype:
        for perm, transposed in layouts:
            if tuple(perm) == tuple(range(len(perm))):
                return ctx.buffers[var], transposed
    perm, transposed = layouts[0]
    shape = var.aval.shape
    permuted = tuple(shape[p] for p in perm)
    buf = ctx.alloc(ShapedArray(permuted, dtype))
    if buf.aval.size:
        with ctx.elements(permuted, flat=False) as idx:
            sub = [None] * len(perm)
            for i, p in enumerate(perm):
                sub[p] = idx.dims(ctx.b)[i]
            v = ctx.read(var, Index(shape, dims=sub))
            buf.store(ctx.b, idx, scalar.convert(ctx.b, v, var.aval.dtype, dtype))
    return buf, transposed


@kernel("dot_general")
def _dot_general(ctx, eqn):
    _product(ctx, eqn, alpha=1.0, beta=0.0)


@kernel("dot_general_update")
def _dot_general_update(ctx, eqn):
    """``q + alpha * dot_general(a, b)`` (see passes/gemm_update.py): q copied into
    the output, then one gemm adding to it."""
    out = eqn.outvars[0]
    ctx.store_loop(eqn.invars[2], ctx.buffers[out])
    _product(ctx, eqn, alpha=eqn.params["alpha"], beta=1.0)


def _product(ctx, eqn, alpha, beta):
    """``C = alpha * A @ B + beta * C`` into the output's buffer, beta 0 or 1
    (0: C's old contents are ignored)."""
    lhs, rhs = eqn.invars[:2]
    out = eqn.outvars[0]
    dt = out.aval.dtype
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lf, rf, nb, m, n, k = blas.product_sizes(lhs.aval, rhs.aval,
                                             eqn.params["dimension_numbers"])
    c = ctx.buffers[out]
    if out.aval.size == 0 or (k == 0 and beta == 1.0):
        return
    if k == 0:
        return _fill_zero(ctx, c)
    gemm = blas.gemm_for(eqn)
    a_layouts = [(list(lb) + lf + list(lc), False)]
    b_layouts = [(list(rb) + list(rc) + rf, False)]
    if gemm is not None:
        a_layouts.append((list(lb) + list(lc) + lf, True))
        b_layouts.append((list(rb) + rf + list(rc), True))
    a, ta = _operand(ctx, lhs, a_layouts, dt)
    b_, tb = _operand(ctx, rhs, b_layouts, dt)
    if gemm is None:
        return _loop_matmul(ctx, a, b_, c, nb, m, n, k, alpha, beta)
    _call_gemm(ctx, gemm, a, b_, c, ta, tb, nb, m, n, k, alpha, beta)


def _fill_zero(ctx, buf):
    with ctx.elements(buf.aval.shape) as idx:
        buf.store(ctx.b, idx, const(buf.aval.dtype, 0))


def _call_gemm(ctx, gemm, a, b_, c, ta, tb, nb, m, n, k, alpha, beta):
    name, bits = gemm
    b = ctx.b
    ity = ir.IntType(bits)
    fty = reg_type(c.aval.dtype)
    ptr = fty.as_pointer()
    fn = ctx.declare(name, VOID, [I32, I32, I32, ity, ity, ity, fty, ptr, ity, ptr, ity,
                                  fty, ptr, ity])
    cint = lambda v: ir.Constant(ity, v)  # noqa: E731
    lda, ldb = (m if ta else k), (k if tb else n)
    with loop(b, nb, "batch") as t:
        pa = b.gep(a.ptr, [b.mul(t, i64(m * k))])
        pb = b.gep(b_.ptr, [b.mul(t, i64(k * n))])
        pc = b.gep(c.ptr, [b.mul(t, i64(m * n))])
        b.call(fn, [ir.Constant(I32, blas.ROW_MAJOR),
                    ir.Constant(I32, blas.TRANS if ta else blas.NO_TRANS),
                    ir.Constant(I32, blas.TRANS if tb else blas.NO_TRANS),
                    cint(m), cint(n), cint(k), ir.Constant(fty, alpha), pa, cint(max(lda, 1)),
                    pb, cint(max(ldb, 1)), ir.Constant(fty, beta), pc, cint(max(n, 1))])


def _loop_matmul(ctx, a, b_, c, nb, m, n, k, alpha, beta):
    """``C[t,i,j] = beta * C[t,i,j] + sum_p alpha * A[t,i,p] * B[t,p,j]`` in
    i-p-j order (beta 0 or 1)."""
    b = ctx.b
    dt = c.aval.dtype
    if beta == 0.0:
        _fill_zero(ctx, c)
    add = (lambda x, y: b.fadd(x, y, flags=("contract",))) if is_float(dt) else \
        (b.or_ if dt == np.bool_ else b.add)
    mul = (lambda x, y: b.fmul(x, y, flags=("contract",))) if is_float(dt) else \
        (b.and_ if dt == np.bool_ else b.mul)
    with loop(b, nb, "bt") as t, loop(b, m, "bi") as i, loop(b, k, "bp") as p, ctx.scope():
        arow = b.add(b.mul(t, i64(m * k)), b.mul(i, i64(k)))
        aval = a.load(b, at(b.add(arow, p)))
        if alpha != 1.0:
            aval = mul(aval, const(dt, alpha))
        brow = b.add(b.mul(t, i64(k * n)), b.mul(p, i64(n)))
        crow = b.add(b.mul(t, i64(m * n)), b.mul(i, i64(n)))
        with loop(b, n, "bj") as j, ctx.scope():
            cidx = at(b.add(crow, j))
            prod = mul(aval, b_.load(b, at(b.add(brow, j))))
            c.store(b, cidx, add(c.load(b, cidx), prod))

