"""LLVM IR generation: one native entry function per jaxpr.

The entry is ``void trax_entry(i8* noalias a0, ..., i8* noalias aN, i8* ws)``
with one pointer per jaxpr input, then per constant, then per output (outputs
are allocated by the caller), then the workspace: a 64-byte aligned block of
``trax_entry_ws()`` bytes (may be null when that is 0) that holds every
temporary too big for the stack, at offsets fixed at compile time (see
plan/workspace.py). ``trax_entry_py`` takes the numpy arrays themselves (the
workspace too, when there is one). Every kernel of the fusion plan is
emitted inline into the entry, in program order.

:class:`Codegen` is the context the lowering rules see: ``ctx.b`` (the
builder), ``ctx.read(var, index)``, ``ctx.buffer(var)``, ``ctx.scope()``,
``ctx.alloc(aval)``, ``ctx.scratch(nbytes)``, ``ctx.store_loop(var, buffer)``
and ``ctx.subentries`` (the compiled sub-jaxprs of control flow).
"""
from contextlib import ExitStack, contextmanager

import numpy as np
from llvmlite import ir

from trax.core import Literal, Var
from trax.compiler import primitives
from trax.compiler.lower import elemental, vectorize
from trax.compiler.math import mathlib, outline
from trax.compiler.plan import rows
from trax.compiler.lower.elemental import Index
from trax.compiler.lower.emission import Emission
from trax.compiler.lower.irtypes import (I8P, I32, I64, VOID, const, declare, from_mem, i64,
                                   mem_type, to_mem)
from trax.compiler.runtime.layout import DATA
from trax.compiler.lower.loops import loop, nest
from trax.compiler.plan.workspace import Workspace

ENTRY = "trax_entry"
_STACK_BYTES = 256          # temporaries up to this size live on the stack
_ROW_STACK_BYTES = 16384    # row buffers (see plan/rows.py) up to this size too
_PREFETCH_MIN, _PREFETCH_MAX = 512, 65536   # rows of this many bytes are prefetched
_PREFETCH_ROWS = 1                          # ... this many rows ahead
# Transcendentals (math/functions.py) are inline IR, one copy per use, unless a jaxpr has at
# least _OUTLINE_MATH of them over at most _OUTLINE_WORK elements in all: then
# each (function, dtype) is one internal function that the loop vectorizer
# calls (outline.call; the loops around calls fold their tails, see
# loops.fold_tail). That cuts compile time about 4x for long chains (LLVM
# optimizes and emits one body instead of dozens) but makes each call site
# ~15-20% slower (call overhead, spills), so large arrays keep inline code.
_OUTLINE_MATH = 8
_OUTLINE_WORK = 1 << 22
_MATH = primitives.names(cost="math")


class Buffer:
    """An array in memory: a typed pointer and the aval it holds (row-major)."""

    def __init__(self, ptr, aval):
        self.ptr = ptr
        self.aval = aval

    def pointer(self, b, index):
        if self.aval.size <= 1:
            return self.ptr
        return b.gep(self.ptr, [index.linear(b)], inbounds=True)

    def load(self, b, index):
        if isinstance(index, vectorize.VectorIndex):
            return vectorize.load(b, self.pointer(b, index), index)
        return from_mem(b, self.aval.dtype, b.load(self.pointer(b, index)))

    def store(self, b, index, value):
        if isinstance(index, vectorize.VectorIndex):
            return vectorize.store(b, self.pointer(b, index), index, value)
        b.store(to_mem(b, self.aval.dtype, value), self.pointer(b, index))


class RowBuffer(Buffer):
    """One row of an array ``[R, ...]`` that a row group (see plan/rows.py) reads
    only at the row it is computing: indexed by the full array's index, it
    holds the elements of row ``self.row`` (set by the row loop)."""

    def __init__(self, ptr, aval, row_size):
        super().__init__(ptr, aval)
        self.row_size = row_size
        self.row = None

    def pointer(self, b, index):
        if self.row_size == 1:
            return self.ptr
        dims = index.known_dims()
        if dims is not None and len(dims) == 2:
            off = dims[1]
        else:
            start = b.mul(self.row, i64(self.row_size), flags=("nuw", "nsw"))
            off = b.sub(index.linear(b), start, flags=("nuw", "nsw"))
        return b.gep(self.ptr, [off], inbounds=True)


class Codegen:
    """Builds the entry function of one jaxpr."""

    def __init__(self, jaxpr, subentries=None):
        self.jaxpr = jaxpr
        # sub-jaxpr (a Jaxpr of a control-flow equation) -> its compiled
        # NativeCode, which the lowering calls (see lower/control.py)
        self.subentries = subentries or {}
        self.module = ir.Module(name="trax")
        n = len(jaxpr.invars) + len(jaxpr.constvars) + len(jaxpr.outvars) + 1
        fn = ir.Function(self.module, ir.FunctionType(VOID, [I8P] * n), ENTRY)
        for a in fn.args:
            a.add_attribute("noalias")
        self.workspace = Workspace()
        fn.attributes.add("nounwind")
        # the _py trampoline calls it: one copy of the body, not two
        fn.attributes.add("noinline")
        self.fn = fn
        self.allocas = fn.append_basic_block("allocas")
        body = fn.append_basic_block("body")
        sizes = [e.outvars[0].aval.size for e in jaxpr.eqns if e.primitive.name in _MATH]
        self.calls_library = len(sizes) >= _OUTLINE_MATH and sum(sizes) <= _OUTLINE_WORK
        self.b = Emission(body, mathlib.lanes() if self.calls_library else None)
        self.buffers = {}
        self.inlined = {}
        self.memo = {}
        self.taken = []
        self.row = None         # (R, r) inside a row group's loop
        self.row_mask = None    # the rows of a vector row loop that exist (vectorize.mask)
        self.vectorized = False  # are the loops in vector form (see vectorize.py)?
        self.lanes = None       # the lanes of the vector loop being emitted
        self.splats = {}        # (dtype, bytes, lanes) -> a literal in every lane

    # ---- values

    def read(self, atom, index):
        """The element of ``atom`` (a Var or Literal) at ``index``."""
        if isinstance(atom, Literal):
            c = const(atom.aval.dtype, atom.val)
            return c if self.lanes is None else self._splat(atom, c)
        key = (atom, id(index))
        hit = self.memo.get(key)
        if hit is not None:
            return hit[0]
        buf = self.buffers.get(atom)
        if buf is not None:
            val = buf.load(self.b, index)
        else:
            eqn = self.inlined[atom]
            val = elemental.RULES[eqn.primitive.name](self, eqn, index)
        self.memo[key] = (val, index)
        return val

    def _splat(self, literal, c):
        """The constant ``c`` of ``literal`` in every lane of a vector, made
        once per module (at the entry: LLVM folds it back into a constant,
        but its text, 8 or 16 lanes long, is printed once, not at each use)."""
        key = (literal.aval.dtype, literal.val.tobytes(), self.lanes)
        v = self.splats.get(key)
        if v is None:
            with self.b.goto_block(self.allocas):
                v = self.splats[key] = vectorize.splat(self.b, c, self.lanes, fold=False)
        return v

    @contextmanager
    def scope(self):
        """A new loop body: values emitted inside are not reused outside."""
        saved = self.memo
        self.memo = dict(saved)
        try:
            yield
        finally:
            self.memo = saved

    def buffer(self, var):
        """``var`` in memory (materialized into a temporary that lives until
        the end of the current kernel if it is inlined or a literal)."""
        if isinstance(var, Var) and var in self.buffers:
            return self.buffers[var]
        buf = self.alloc(var.aval)
        self.store_loop(var, buf)
        return buf

    # ---- memory

    def alloc(self, aval):
        """A temporary buffer for ``aval``."""
        ty = mem_type(aval.dtype)
        nbytes = max(aval.size, 1) * aval.dtype.itemsize
        if nbytes <= _STACK_BYTES:
            with self.b.goto_block(self.allocas):
                ptr = self.b.alloca(ty, size=max(aval.size, 1))
            return Buffer(ptr, aval)
        return Buffer(self._take(nbytes, ty), aval)

    def _prefetch_rows(self, grp, r):
        """Prefetch the next row of every array a row group streams from
        memory: the loop over a row is short and computes between its loads,
        so without this the memory system idles while a row is processed."""
        b = self.b
        for v in grp.streamed:
            buf = self.buffers.get(v)
            if buf is None or isinstance(buf, RowBuffer):
                continue
            row_bytes = v.aval.size // grp.rows * v.aval.dtype.itemsize
            if not _PREFETCH_MIN <= row_bytes <= _PREFETCH_MAX:
                continue
            fn = declare(self.module, "llvm.prefetch.p0",
                         ir.FunctionType(VOID, [I8P, I32, I32, I32]))
            nxt = b.add(r, i64(_PREFETCH_ROWS), flags=("nuw", "nsw"))
            base = b.gep(b.bitcast(buf.ptr, I8P), [b.mul(nxt, i64(row_bytes))])
            with loop(b, (row_bytes + 63) // 64, "pf") as line:
                b.call(fn, [b.gep(base, [b.mul(line, i64(64))]), ir.Constant(I32, 0),
                            ir.Constant(I32, 3), ir.Constant(I32, 1)])

    def _row_buffer(self, aval, R):
        """A :class:`RowBuffer` for one row of ``aval`` (freed after the group;
        in vector form, one element for each lane)."""
        row_size = aval.size // R
        ty = mem_type(aval.dtype)
        elements = _lanes(aval.dtype) if self.vectorized else max(row_size, 1)
        nbytes = elements * aval.dtype.itemsize
        if nbytes <= _ROW_STACK_BYTES:
            with self.b.goto_block(self.allocas):
                ptr = self.b.alloca(ty, size=elements)
                ptr.align = 64
            return RowBuffer(ptr, aval, row_size)
        return RowBuffer(self._take(nbytes, ty), aval, row_size)

    def scratch(self, nbytes):
        """An ``i8*`` to ``nbytes`` of workspace (64-byte aligned) for the
        current kernel."""
        return self._take(nbytes, I8P.pointee)

    def _take(self, nbytes, ty):
        """A ``ty*`` to ``nbytes`` of the workspace, until give_back returns it."""
        offset = self.workspace.take(nbytes)
        self.taken.append((offset, nbytes))
        return self.b.bitcast(self.b.gep(self.fn.args[-1], [i64(offset)], inbounds=True),
                              ty.as_pointer())

    def give_back(self, taken):
        """Return workspace ranges ``(offset, nbytes)`` made by _take."""
        for offset, nbytes in taken:
            self.workspace.give(offset, nbytes)

    def declare(self, name, ret, args):
        """Declare an external function (e.g. a BLAS routine)."""
        return declare(self.module, name, ir.FunctionType(ret, args))

    # ---- loops

    def flat_ok(self, var, eqn=None):
        """Can ``var``'s elements (computed by ``eqn`` if given, else as read)
        be computed from a linear index alone?"""
        stack, seen = [eqn or var], set()
        while stack:
            v = stack.pop()
            eqn = v if not isinstance(v, (Var, Literal)) else \
                self.inlined.get(v) if isinstance(v, Var) else None
            if eqn is None or id(eqn) in seen:
                continue
            seen.add(id(eqn))
            if not elemental.flat_safe(eqn):
                return False
            stack.extend(eqn.invars)
        return True

    @contextmanager
    def elements(self, shape, flat=True):
        """Loop over all indices of ``shape``; yields an :class:`Index`
        (one flat loop when ``flat``, else a loop nest)."""
        size = int(np.prod(shape, dtype=np.int64))
        if self.row is not None and shape and shape[0] == self.row[0]:
            # inside a row group: only row r of the kernel's output
            r = self.row[1]
            inner = shape[1:]
            row_size = size // shape[0]
            if flat or len(inner) <= 1:
                if row_size == 1:
                    with self.scope():
                        yield Index(shape, linear=r)
                    return
                base = self.b.mul(r, i64(row_size), flags=("nuw", "nsw"))
                with loop(self.b, row_size, "j") as j, self.scope():
                    linear = self.b.add(base, j, flags=("nuw", "nsw"))
                    # a 2-d kernel knows its per-axis indices too: no division
                    yield Index(shape, dims=[r, j] if len(inner) == 1 else None, linear=linear)
            else:
                with nest(self.b, inner) as dims, self.scope():
                    yield Index(shape, dims=[r] + dims)
            return
        if size == 0:
            # emit nothing that runs: a loop of zero trips
            with loop(self.b, 0) as i, self.scope():
                yield Index(shape, linear=i) if shape else Index(shape)
            return
        if flat or len(shape) <= 1:
            if size == 1:
                with self.scope():
                    yield Index(shape, linear=i64(0))
                return
            with loop(self.b, size) as i, self.scope():
                yield Index(shape, linear=i)
        else:
            with nest(self.b, shape) as dims, self.scope():
                yield Index(shape, dims=dims)

    def store_loop(self, var, buf, eqn=None):
        """The elemental kernel: ``buf[i] = var[i]`` for every index (computed
        by the rule of ``eqn`` when given, else read)."""
        if var.aval.size == 0:
            return
        if self.vectorized:
            return self._vector_store_loop(var, buf, eqn)
        with self.elements(var.aval.shape, self.flat_ok(var, eqn)) as idx:
            if eqn is None:
                val = self.read(var, idx)
            else:
                val = elemental.RULES[eqn.primitive.name](self, eqn, idx)
            buf.store(self.b, idx, val)

    def _vector_store_loop(self, var, buf, eqn):
        """store_loop in vector form (see vectorize.py); inside a vector row
        loop (all rows of one element), the lanes of its rows only."""
        b, n = self.b, var.aval.size
        lanes = _lanes(var.aval.dtype)
        with ExitStack() as stack:
            if self.row is not None:
                base, mask = self.row[1], self.row_mask
            else:
                k = stack.enter_context(loop(b, -(-n // lanes), "v"))
                stack.enter_context(self.scope())
                base = b.mul(k, i64(lanes), flags=("nuw", "nsw"))
                mask = vectorize.mask(b, base, lanes, n)
            idx = vectorize.VectorIndex(var.aval.shape, base, lanes, mask)
            self.lanes = lanes
            val = self.read(var, idx) if eqn is None else \
                elemental.RULES[eqn.primitive.name](self, eqn, idx)
            self.lanes = None
            buf.store(b, idx, val)

    def _groups(self, plan):
        """rows.groups, in vector form only those whose rows are single
        elements of one dtype (a vector row loop; others run kernel by kernel)."""
        groups = rows.groups(plan)
        if not self.vectorized:
            return groups
        out = []
        for g in groups:
            avals = [e.outvars[0].aval for e in g.eqns]
            if g.rows is None or all(a.shape == (g.rows,) and a.dtype == avals[0].dtype
                                     for a in avals):
                out.append(g)
            else:
                out.extend(rows.Group(None, [e]) for e in g.eqns)
        return out

    # ---- the whole function

    def generate(self, plan, kernels):
        """Emit every kernel of ``plan`` and the output copies; returns IR text."""
        jaxpr, b = self.jaxpr, self.b
        args = list(self.fn.args)
        ins = jaxpr.invars + jaxpr.constvars
        for v, a in zip(ins, args):
            self.buffers[v] = Buffer(b.bitcast(a, mem_type(v.aval.dtype).as_pointer()), v.aval)
        out_args = args[len(ins):]
        out_bufs = [Buffer(b.bitcast(a, mem_type(v.aval.dtype).as_pointer()), v.aval)
                    for v, a in zip(jaxpr.outvars, out_args)]
        produced = {v for e in plan.roots for v in e.outvars}
        copies = []
        for v, buf in zip(jaxpr.outvars, out_bufs):
            if isinstance(v, Var) and v in produced and v not in self.buffers:
                self.buffers[v] = buf
            else:
                copies.append((v, buf))
        self.inlined = plan.inlined
        self.vectorized = self.calls_library and vectorize.eligible(plan, jaxpr.outvars)
        last_use = _last_uses(plan, [v for v, _ in copies])
        owned = {}                      # var -> its temporary's workspace range
        k = -1
        for grp in self._groups(plan):
            R, group = grp.rows, grp.eqns
            k += len(group)
            row_bufs = []
            for eqn in group:
                for v in eqn.outvars:
                    if v in self.buffers:
                        continue
                    if R is not None and last_use.get(v, k) <= k:
                        buf = self._row_buffer(v.aval, R)
                        row_bufs.append(buf)
                        self.buffers[v] = buf
                        continue
                    self.buffers[v] = self.alloc(v.aval)
                    if self.taken:
                        owned[v] = self.taken.pop()
            if R is None:
                kernels.emit(self, group[0])
            else:
                step = _lanes(group[0].outvars[0].aval.dtype) if self.vectorized else 1
                with loop(b, -(-R // step), "r") as r, self.scope():
                    if step > 1:     # a vector row loop: rows r*step ... r*step+step-1
                        r = b.mul(r, i64(step), flags=("nuw", "nsw"))
                        self.row_mask = vectorize.mask(b, r, step, R)
                    self.row = (R, r)
                    for buf in row_bufs:
                        buf.row = r
                    self._prefetch_rows(grp, r)
                    for eqn in group:
                        with self.scope():
                            kernels.emit(self, eqn)
                    self.row = self.row_mask = None
            self.give_back(self.taken)            # the kernels' own scratch space
            self.taken = []
            self.give_back([owned.pop(v) for v in list(owned) if last_use.get(v, k) <= k])
        for v, buf in copies:
            self.store_loop(v, buf)
        self.give_back(list(owned.values()))
        b.ret_void()
        with b.goto_block(self.allocas):
            b.branch(self.fn.blocks[1])
        self._trampoline()
        self._workspace_size()
        outline.finish(self.module, self.b.math_used)
        return str(self.module)

    def _trampoline(self):
        """``trax_entry_py(PyObject* a0, ...)``: the entry called with numpy
        arrays; it reads each array's data pointer (a field at a fixed offset
        of numpy's object struct, checked at import by runtime/layout.py). It
        takes the workspace as an array too, when there is one."""
        n = len(self.fn.args) - (self.workspace.size == 0)
        fn = ir.Function(self.module, ir.FunctionType(VOID, [I8P] * n), ENTRY + "_py")
        b = ir.IRBuilder(fn.append_basic_block())
        ptrs = []
        for a in fn.args:
            field = b.bitcast(b.gep(a, [i64(DATA)]), I8P.as_pointer())
            ptrs.append(b.load(field))
        if self.workspace.size == 0:
            ptrs.append(ir.Constant(I8P, None))
        b.call(self.fn, ptrs)
        b.ret_void()

    def _workspace_size(self):
        """``i64 trax_entry_ws()``: the bytes of workspace the entry needs."""
        fn = ir.Function(self.module, ir.FunctionType(I64, []), ENTRY + "_ws")
        ir.IRBuilder(fn.append_basic_block()).ret(i64(self.workspace.size))


def _lanes(dtype):
    """The lanes of a vector loop over ``dtype`` elements (the math library's)."""
    return max(mathlib.lanes()[dtype.itemsize])


def _last_uses(plan, extra_reads):
    """var -> index of the last kernel of ``plan`` that reads it from memory
    (len(roots) for ``extra_reads``, read after every kernel)."""
    last = {}
    for k, root in enumerate(plan.roots):
        stack, seen = list(root.invars), set()
        while stack:
            v = stack.pop()
            if not isinstance(v, Var) or v in seen:
                continue
            seen.add(v)
            eqn = plan.inlined.get(v)
            if eqn is None:
                last[v] = k
            else:
                stack.extend(eqn.invars)
    for v in extra_reads:
        if isinstance(v, Var):
            last[v] = len(plan.roots)
    return last
