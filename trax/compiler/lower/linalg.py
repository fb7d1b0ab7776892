"""dot_general: packed operands, then BLAS gemm or a loop nest.

The operands are brought to ``A[batch, M, K]`` and ``B[batch, K, N]`` (the
output ``C[batch, M, N]`` is already dot_general's layout). An operand that
is in memory in that layout -- or in the transposed one, handled with gemm's
transpose flags -- is used in place; otherwise one loop packs it (fusing its
producers and any dtype conversion). Large float32/float64 products go to
the BLAS numpy ships (see runtime/blas.py ``gemm_for``); the rest run a
generated register-blocked loop nest (:func:`_loop_matmul`).
"""
from contextlib import contextmanager

import numpy as np
from llvmlite import ir

from trax.core import ShapedArray, Var
from trax.compiler.runtime import blas, host
from trax.compiler.lower import scalar
from trax.compiler.lower.elemental import Index, at
from trax.compiler.lower.irtypes import I32, VOID, const, i64, is_float, mem_type, reg_type
from trax.compiler.lower.kernels import kernel
from trax.compiler.lower.loops import loop
from trax.compiler.lower.vectorize import splat



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


# Register blocking of the loop nest, by the host's vector register bits:
# tiles of C of (rows, vectors of columns), held in vector registers across
# the K loop (AVX-512's 32 registers: 24 accumulators and 3 rows of B; of
# 4x4, 6x4, 8x2, 8x3 and 6x3 tiles, 8x3 was among the fastest at [16|64,
# 128|512] @ [128|512, 128|512], float32 and float64, on znver5; the AVX2
# and SSE tiles, for 16 registers, are not measured).
TILES = {512: (8, 3), 256: (4, 2), 128: (4, 2)}


def _loop_matmul(ctx, a, b_, c, nb, m, n, k, alpha, beta):
    """``C[t] = beta * C[t] + alpha * A[t] @ B[t]`` (beta 0 or 1) as a
    register-blocked loop nest: C in tiles of a few rows by a few vectors
    (see TILES), each summed over K in vector registers (one A element
    broadcast times one row of B's vectors per row and step), then stored
    once. With beta 0 the last tile of a row or column of tiles overlaps the
    one before (it recomputes and stores the same values), so that one tile
    shape covers C and LLVM compiles one micro-kernel; with beta 1 the last
    tiles are narrower instead."""
    b = ctx.b
    bits = host.vector_bits()
    lanes = max(bits // (8 * c.aval.dtype.itemsize), 1)
    tile_rows, vectors = TILES.get(bits, TILES[128])
    overlap = beta == 0.0
    with loop(b, nb, "bt") as t:
        for rows, row_at in _runs(b, m, tile_rows, overlap, "bi"):
            for cols, col_at in _runs(b, n, lanes * vectors, overlap, "bj"):
                with row_at() as i, col_at() as j:
                    widths = [lanes] * (cols // lanes) + ([cols % lanes] if cols % lanes else [])
                    _tile(ctx, a, b_, c, (t, i, j), (m, n, k), rows, widths, alpha, beta)


def _runs(b, size, step, overlap, name):
    """Tiles of at most ``step`` covering ``range(size)``, as ``[(width,
    loop)]``: ``loop()`` is a context running over the starts of the tiles
    of that width. Overlapping: every tile is ``step`` wide (the last one
    starting at ``size - step``); else the last one is narrower."""
    def run(count, width, first, clamp):
        @contextmanager
        def starts():
            with loop(b, count, name) as idx:
                start = b.add(i64(first), b.mul(idx, i64(width)))
                if clamp:
                    last = i64(size - width)
                    start = b.select(b.icmp_unsigned("<", start, last), start, last)
                yield start
        return width, starts

    if size <= step:
        return [run(1, size, 0, False)]
    if overlap:
        count = -(-size // step)
        return [run(count, step, 0, count * step > size)]
    runs = [run(size // step, step, 0, False)]
    if size % step:
        runs.append(run(1, size % step, size - size % step, False))
    return runs


def _tile(ctx, a, b_, c, at_, sizes, rows, widths, alpha, beta):
    """One tile of C: ``rows`` rows from row ``i`` by vectors of ``widths``
    columns from column ``j`` of product ``t`` (``at_ = (t, i, j)``)."""
    b = ctx.b
    t, i, j = at_
    m, n, k = sizes
    dt = c.aval.dtype
    elt = mem_type(dt)
    if is_float(dt):
        add = lambda x, y: b.fadd(x, y, flags=("contract",))  # noqa: E731
        mul = lambda x, y: b.fmul(x, y, flags=("contract",))  # noqa: E731
    else:   # bool: and/or on its 0/1 bytes
        add, mul = (b.or_, b.and_) if dt == np.bool_ else (b.add, b.mul)
    offs = [sum(widths[:v]) for v in range(len(widths))]
    a_rows = [_at(b, a, b.add(b.mul(t, i64(m * k)), b.mul(b.add(i, i64(r)), i64(k))))
              for r in range(rows)]
    b_tile = _at(b, b_, b.add(b.mul(t, i64(k * n)), j))
    c_tile = _at(b, c, b.add(b.mul(t, i64(m * n)), b.add(b.mul(i, i64(n)), j)))

    def step(p, accs):
        b_row = b.gep(b_tile, [b.mul(p, i64(n))], inbounds=True)
        bv = [_vload(b, b.gep(b_row, [i64(o)], inbounds=True), w, dt)
              for o, w in zip(offs, widths)]
        out = []
        for r in range(rows):
            x = b.load(b.gep(a_rows[r], [p], inbounds=True))
            xs = {w: splat(b, x, w) for w in set(widths)}
            out.append([add(acc, mul(xs[w], v)) for acc, v, w in zip(accs[r], bv, widths)])
        return out

    zeros = [[ir.Constant(ir.VectorType(elt, w), [ir.Constant(elt, 0)] * w) for w in widths]
             for _ in range(rows)]
    if k == 1:
        accs = step(i64(0), zeros)
    else:
        pre = b.block
        with loop(b, k, "bp") as p:
            phis = [[b.phi(z.type) for z in row] for row in zeros]
            for row_phi, row_zero in zip(phis, zeros):
                for ph, z in zip(row_phi, row_zero):
                    ph.add_incoming(z, pre)
            accs = step(p, phis)
            for row_phi, row_acc in zip(phis, accs):
                for ph, v in zip(row_phi, row_acc):
                    ph.add_incoming(v, b.block)
    for r in range(rows):
        for o, w, acc in zip(offs, widths, accs[r]):
            ptr = b.gep(c_tile, [i64(r * n + o)], inbounds=True)
            if alpha != 1.0:
                acc = mul(acc, splat(b, const(dt, alpha), w))
            if beta == 1.0:
                acc = add(_vload(b, ptr, w, dt), acc)
            b.store(acc, _vector(b, ptr, w), align=dt.itemsize)


def _at(b, buf, pos):
    """A pointer to element ``pos`` (flat) of ``buf``."""
    return buf.pointer(b, at(pos))


def _vector(b, ptr, width):
    return b.bitcast(ptr, ir.VectorType(ptr.type.pointee, width).as_pointer())


def _vload(b, ptr, width, dtype):
    """The ``width`` elements from ``ptr`` on, as they are in memory (a vector)."""
    return b.load(_vector(b, ptr, width), align=dtype.itemsize)
