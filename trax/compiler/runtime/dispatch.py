"""A native dispatcher: the hot call of a jitted function as one C function.

:func:`build` generates, with llvmlite, a CPython ``METH_FASTCALL`` function
for one call signature of an :class:`~trax.compiler.runtime.executable.Executable`
and wraps it with ``PyCFunction_NewEx``. Called with the positional
arguments, it

* checks each argument exactly: an ``ndarray`` or trax ``Array`` (exact
  type) with the traced dtype (the same descr object), shape, and the
  C-contiguous and aligned flags; or a scalar of the exact Python or NumPy
  type it was built for, whose value it converts to the traced dtype;
* allocates the outputs (trax ``Array``) with NumPy's ``PyArray_NewFromDescr``;
* calls the compiled entry with the data pointers (releasing the GIL when
  the call touches many elements) and returns the output, or a tuple of them.

Anything else -- a wrong count, type, shape, dtype or layout, or an integer
out of range -- returns the ``miss`` sentinel (the dispatcher's ``self``)
and the caller takes the Python path, which converts or raises as usual.

Every address the function uses (type and dtype objects, constants, the
compiled entry, C functions) is an external symbol bound when it is loaded,
so its object code does not depend on the process: the disk cache keeps it
(``dispatch/``) and a new process's dispatcher needs no LLVM when it is
there; :mod:`~trax.compiler.runtime.elfload` places it with that process's
addresses. Where that loader does not work, the function is compiled into
the LLVM engine with the addresses inlined.

It relies on the object layouts of 64-bit CPython and NumPy (ndarray fields,
scalar values at offset 16); :func:`supported` probes them at import and
the dispatcher is simply not built when they differ.
"""
import ctypes
import itertools
import sys

import numpy as np
from llvmlite import ir

from trax.core import Array
from trax.compiler.fingerprint import FINGERPRINT
from trax.compiler.runtime import cache, elfload, host, symbols
from trax.compiler.lower.irtypes import I8, I8P, I32, I64, VOID, mem_type
from trax.compiler.runtime import layout
from trax.compiler.runtime.layout import (C_CONTIGUOUS_ALIGNED, DATA, DESCR, DIMS, FLAGS,
                                          METH_FASTCALL, NDIM, PYARRAY_NEW_FROM_DESCR,
                                          SCALAR_VALUE)

_RELEASE_GIL_ELEMENTS = 1 << 15
_names = itertools.count()


def _c_address(fn):
    return ctypes.cast(fn, ctypes.c_void_p).value


def _probe():
    # the dispatcher's counter and workspace flag rely on the GIL
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    try:
        return layout.numpy_api() if layout.ARRAYS_OK else None
    except Exception:           # an unexpected NumPy build: no native dispatch
        return None


_NUMPY_API = _probe()


def supported():
    """Can native dispatchers be built in this process?"""
    return _NUMPY_API is not None


class Dispatcher:
    """``fn``, the native callable at ``address``; ``miss``, its ``self``
    (which keeps the compiled code, constants and fallback alive);
    ``root_miss``, what it returns when no dispatcher of its chain matches;
    ``calls``, how many calls the chain served."""
    __slots__ = ("fn", "address", "miss", "root_miss", "_counter", "_fallback")

    @property
    def calls(self):
        return self._counter.value + (self._fallback.calls if self._fallback else 0)


class _Builder:
    """The IR of one dispatcher function. Every address it uses (objects,
    data, the compiled entry, C functions) is an external symbol bound when
    the code is loaded, so the IR -- and its object code, kept in the disk
    cache -- does not depend on the process. With ``unique=True`` (code
    added to the process-wide LLVM engine, where symbols are global) names
    are made unique and addresses are inlined instead."""

    def __init__(self, unique):
        self.unique = unique
        name = f"trax_dispatch_{next(_names)}" if unique else "trax_dispatch"
        self.module = ir.Module(name=name)
        self.bindings = {}                  # symbol -> address
        fnty = ir.FunctionType(I8P, [I8P, I8P.as_pointer(), I64])
        self.fn = ir.Function(self.module, fnty, name=name)
        self.self_, self.args, self.nargs = self.fn.args
        self.entry = self.fn.append_basic_block("entry")      # stack slots only
        self.b = ir.IRBuilder(self.fn.append_basic_block("start"))
        self.miss = self.fn.append_basic_block("miss")

    def alloca(self, ty):
        with self.b.goto_block(self.entry):
            return self.b.alloca(ty)

    def finish(self):
        """Close the entry block and return the module's IR text."""
        self.b.position_at_end(self.entry)
        self.b.branch(self.fn.basic_blocks[1])
        return str(self.module)

    def ptr(self, symbol, address, pointee=I8):
        """A ``pointee*`` to ``address``, named ``symbol`` in the object."""
        if self.unique:
            return ir.Constant(I64, address).inttoptr(pointee.as_pointer())
        symbol = f"{self.fn.name}_{symbol}"
        if symbol not in self.module.globals:
            ir.GlobalVariable(self.module, pointee, symbol)
            self.bindings[symbol] = address
        return self.module.globals[symbol]

    def extern(self, symbol, address, ret, params):
        """A declared function that resolves to ``address``."""
        return self._function(f"{self.fn.name}_{symbol}", address, ret, params)

    def capi(self, name, ret, params):
        """A function of CPython's C API."""
        if name in self.module.globals:
            return self.module.globals[name]
        return self._function(name, _c_address(getattr(ctypes.pythonapi, name)), ret, params)

    def _function(self, symbol, address, ret, params):
        if self.unique:
            symbols.register(symbol, address)
        else:
            self.bindings[symbol] = address
        return ir.Function(self.module, ir.FunctionType(ret, params), name=symbol)

    def field(self, obj, offset, ty):
        p = self.b.gep(obj, [ir.Constant(I64, offset)], inbounds=True)
        return self.b.load(self.b.bitcast(p, ty.as_pointer()))

    def require(self, cond):
        """Go on if ``cond``, else return the miss sentinel."""
        ok = self.fn.append_basic_block()
        self.b.cbranch(cond, ok, self.miss)
        self.b.position_at_end(ok)


def build(exe, args, avals, out_avals, out_tuple, fallback=None):
    """A :class:`Dispatcher` for calls like ``exe(*args)`` (``args`` are the
    arguments of a call that took the Python path, traced as ``avals``), or
    None when some argument or output cannot be handled natively.
    ``out_tuple``: return the outputs as a tuple, else the single output.
    ``fallback``: a dispatcher (for other signatures) that a miss passes the
    call on to; the chain's last miss returns ``root_miss``."""
    if _NUMPY_API is None or (not out_tuple and len(out_avals) != 1):
        return None
    try:
        return _build(exe, args, avals, out_avals, out_tuple, fallback, not elfload.supported())
    except elfload.UnsupportedObject:
        return _build(exe, args, avals, out_avals, out_tuple, fallback, True)


def _build(exe, args, avals, out_avals, out_tuple, fallback, unique):
    g = _Builder(unique)
    g.require(g.b.icmp_signed("==", g.nargs, ir.Constant(I64, len(args))))
    data = _argument_data(g, args, avals)
    if data is None:
        return None
    outs = _new_outputs(g, out_avals)
    workspace = _call_entry(g, exe, data, outs, list(avals) + list(out_avals))
    # counted once the call is served (a busy workspace is a miss, counted
    # by the Python path that serves it)
    counter = ctypes.c_int64(0)
    cp = g.ptr("counter", ctypes.addressof(counter), I64)
    g.b.store(g.b.add(g.b.load(cp), ir.Constant(I64, 1)), cp)
    _return(g, outs, out_tuple)
    _miss(g, fallback)
    address, memory = _load(g)
    keep = (exe, fallback, [x.dtype for x in args if isinstance(x, np.ndarray)],
            [np.dtype(a.dtype) for a in out_avals], workspace, memory)
    return _wrap(address, g.fn.name, keep, counter, fallback)


def _load(g):
    """The address of the dispatcher built by ``g`` and the Memory holding
    it: compiled into the LLVM engine (no Memory: kept for the process), or
    placed by our loader from object code that the disk cache keeps under
    the IR's text."""
    text = g.finish()
    if g.unique:
        from trax.compiler.runtime import engine
        return engine.compile_ir(text, [g.fn.name])[g.fn.name], None
    key = cache.disk_key(f"{FINGERPRINT}\n{text}", host.signature())

    def build():
        from trax.compiler.runtime import engine
        return engine.emit_object(text)

    addresses, memory = cache.through(cache.entry_path("dispatch", key), build,
                                      lambda obj: elfload.load(obj, [g.fn.name], g.bindings))
    return addresses[g.fn.name], memory


def _argument_data(g, args, avals):
    """Check each argument and return its data pointer (None: some argument
    is not one the dispatcher can take)."""
    scalar_types = layout.SCALAR_TYPES
    data = []
    for i, (x, aval) in enumerate(zip(args, avals)):
        obj = g.b.load(g.b.gep(g.args, [ir.Constant(I64, i)]))
        typ = g.field(obj, 8, I8P)                        # ob_type
        if type(x) in (np.ndarray, Array):
            if (x.dtype != aval.dtype or x.shape != aval.shape
                    or not x.flags.c_contiguous or not x.flags.aligned):
                return None
            d = _data_of_array(g, obj, typ, x, i)
        elif type(x) in scalar_types:
            d = _data_of_scalar(g, obj, typ, type(x), scalar_types[type(x)], aval.dtype, i)
        else:
            d = None
        if d is None:
            return None
        data.append(d)
    return data


def _new_outputs(g, out_avals):
    """Allocate each output as a trax Array (NULL: free the others, fail)."""
    b = g.b
    incref = g.capi("Py_IncRef", VOID, [I8P])
    new_array = g.extern("PyArray_NewFromDescr", _NUMPY_API[PYARRAY_NEW_FROM_DESCR], I8P,
                         [I8P, I8P, I32, I64.as_pointer(), I64.as_pointer(), I8P, I32, I8P])
    outs = []
    for k, aval in enumerate(out_avals):
        shape = aval.shape or (1,)
        ty = ir.ArrayType(I64, len(shape))
        dims = ir.GlobalVariable(g.module, ty, f"{g.fn.name}_dims{k}")
        dims.linkage = "internal"
        dims.initializer = ir.Constant(ty, list(shape))
        dims.global_constant = True
        descr = g.ptr(f"descr_out{k}", id(np.dtype(aval.dtype)))
        b.call(incref, [descr])                 # PyArray_NewFromDescr steals it
        o = b.call(new_array, [g.ptr("Array", id(Array)), descr, ir.Constant(I32, len(aval.shape)),
                               b.bitcast(dims, I64.as_pointer()),
                               ir.Constant(I64.as_pointer(), None), ir.Constant(I8P, None),
                               ir.Constant(I32, 0), ir.Constant(I8P, None)])
        _fail_if_null(g, o, outs)
        outs.append(o)
    return outs


def _call_entry(g, exe, data, outs, avals):
    """One call of the compiled entry; without the GIL when it is long.
    Returns what the dispatcher must keep alive: its own workspace and the
    flag that marks it in use (a call that finds it in use, in another
    thread, is a miss: the Python path takes a workspace from the pool)."""
    b = g.b
    ptrs = data + [g.ptr(f"const{k}", c.ctypes.data) for k, c in enumerate(exe._consts)] + \
        [g.field(o, DATA, I8P) for o in outs]
    nbytes = exe.compiled.workspace_bytes
    keep = None
    if nbytes:
        ws, busy = exe.compiled.take_workspace(), ctypes.c_int8(0)
        keep = (ws, busy)
        flag = g.ptr("ws_busy", ctypes.addressof(busy), I8)
        in_use, free = g.fn.append_basic_block(), g.fn.append_basic_block()
        b.cbranch(b.icmp_unsigned("!=", b.load(flag), ir.Constant(I8, 0)), in_use, free)
        b.position_at_end(in_use)
        decref = g.capi("Py_DecRef", VOID, [I8P])
        for o in outs:
            b.call(decref, [o])
        b.branch(g.miss)
        b.position_at_end(free)
        b.store(ir.Constant(I8, 1), flag)       # the GIL is held: no other thread is here
        ptrs.append(g.ptr("ws", ws.ctypes.data))
    else:
        ptrs.append(ir.Constant(I8P, None))
    entry = g.extern("entry", exe.compiled.address, VOID, [I8P] * len(ptrs))
    release = sum(int(np.prod(a.shape)) for a in avals) >= _RELEASE_GIL_ELEMENTS
    if release:
        state = b.call(g.capi("PyEval_SaveThread", I8P, []), [])
    b.call(entry, ptrs)
    if release:
        b.call(g.capi("PyEval_RestoreThread", VOID, [I8P]), [state])
    if nbytes:
        b.store(ir.Constant(I8, 0), flag)
    return keep


def _return(g, outs, out_tuple):
    b = g.b
    if not out_tuple:
        b.ret(outs[0])
        return
    t = b.call(g.capi("PyTuple_New", I8P, [I64]), [ir.Constant(I64, len(outs))])
    _fail_if_null(g, t, outs)
    set_item = g.capi("PyTuple_SetItem", I32, [I8P, I64, I8P])
    for k, o in enumerate(outs):
        b.call(set_item, [t, ir.Constant(I64, k), o])     # steals o
    b.ret(t)


def _miss(g, fallback):
    """Return ``self`` (a new reference), or pass the call on to ``fallback``."""
    b = g.b
    b.position_at_end(g.miss)
    if fallback is None:
        b.call(g.capi("Py_IncRef", VOID, [I8P]), [g.self_])
        b.ret(g.self_)
        return
    nxt = g.extern("next", fallback.address, I8P, [I8P, I8P.as_pointer(), I64])
    b.ret(b.call(nxt, [g.ptr("next_self", id(fallback.miss)), g.args, g.nargs], tail=True))


def _fail_if_null(g, obj, made):
    """If ``obj`` is NULL (an allocation failed and set a Python error),
    release the objects ``made`` so far and return NULL."""
    b = g.b
    fail, ok = g.fn.append_basic_block(), g.fn.append_basic_block()
    b.cbranch(b.icmp_unsigned("==", obj, ir.Constant(I8P, None)), fail, ok)
    b.position_at_end(fail)
    decref = g.capi("Py_DecRef", VOID, [I8P])
    for o in made:
        b.call(decref, [o])
    b.ret(ir.Constant(I8P, None))
    b.position_at_end(ok)


def _data_of_array(g, obj, typ, x, i):
    b = g.b
    is_nd = b.icmp_unsigned("==", typ, g.ptr("ndarray", id(np.ndarray)))
    is_arr = b.icmp_unsigned("==", typ, g.ptr("Array", id(Array)))
    g.require(b.or_(is_nd, is_arr))
    descr = g.ptr(f"descr_in{i}", id(x.dtype))
    g.require(b.icmp_unsigned("==", g.field(obj, DESCR, I8P), descr))
    g.require(b.icmp_signed("==", g.field(obj, NDIM, I32), ir.Constant(I32, x.ndim)))
    if x.ndim:
        dims = g.field(obj, DIMS, I64.as_pointer())
        for k, n in enumerate(x.shape):
            d = b.load(b.gep(dims, [ir.Constant(I64, k)]))
            g.require(b.icmp_signed("==", d, ir.Constant(I64, n)))
    flags = b.and_(g.field(obj, FLAGS, I32), ir.Constant(I32, C_CONTIGUOUS_ALIGNED))
    g.require(b.icmp_signed("==", flags, ir.Constant(I32, C_CONTIGUOUS_ALIGNED)))
    return g.field(obj, DATA, I8P)


def _data_of_scalar(g, obj, typ, t, src, dst, i):
    """A stack slot holding the scalar argument converted to ``dst``, or
    None when that conversion is not one the dispatcher does."""
    b = g.b
    src, dst = np.dtype(src), np.dtype(dst)
    if src.kind != dst.kind and not (src.kind in "iu" and dst.kind in "iu"):
        return None
    g.require(b.icmp_unsigned("==", typ, g.ptr(f"type_in{i}", id(t))))
    if t is bool:
        value = b.icmp_unsigned("==", obj, g.ptr("True", id(True)))
        value = b.zext(value, I8)
    elif t is int:
        as_long = g.capi("PyLong_AsLongLongAndOverflow", I64,
                           [I8P, I32.as_pointer()])
        overflow = g.alloca(I32)
        value = b.call(as_long, [obj, overflow])
        g.require(b.icmp_signed("==", b.load(overflow), ir.Constant(I32, 0)))
    else:
        value = g.field(obj, SCALAR_VALUE, mem_type(src))
    if dst.kind == "f" and dst.itemsize != src.itemsize:
        value = (b.fptrunc if dst.itemsize < src.itemsize else b.fpext)(value, mem_type(dst))
    elif dst.kind in "iu":
        if dst.itemsize < src.itemsize or dst.kind != src.kind:
            info = np.iinfo(dst)
            lo, hi = max(info.min, np.iinfo(src).min), min(info.max, np.iinfo(src).max)
            in_range = b.and_(b.icmp_signed(">=", value, ir.Constant(value.type, lo)),
                              b.icmp_signed("<=", value, ir.Constant(value.type, hi)))
            g.require(in_range)
        if dst.itemsize != src.itemsize:
            value = (b.trunc if dst.itemsize < src.itemsize else b.sext)(value, mem_type(dst))
    slot = g.alloca(mem_type(dst))
    b.store(value, slot)
    return b.bitcast(slot, I8P)


class _MethodDef(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("meth", ctypes.c_void_p),
                ("flags", ctypes.c_int), ("doc", ctypes.c_char_p)]


class _Miss:
    """The sentinel a dispatcher returns on a miss; it owns what the native
    function needs (so the function keeps it alive as its ``self``)."""
    __slots__ = ("keep",)


def _wrap(address, name, keep, counter, fallback):
    new = ctypes.pythonapi.PyCFunction_NewEx
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]
    name_bytes = name.encode()
    method = _MethodDef(name_bytes, address, METH_FASTCALL, None)
    miss = _Miss()
    miss.keep = (method, name_bytes, keep, counter)
    d = Dispatcher()
    d.fn = new(ctypes.addressof(method), miss, None)
    d.address = address
    d.miss = miss
    d.root_miss = fallback.root_miss if fallback else miss
    d._counter = counter
    d._fallback = fallback
    return d
