"""Compiled code and the thin Python path that calls it.

:class:`NativeCode` is the native entry (address + layout) of one optimized
jaxpr, shared by every :class:`Executable` built from it; an Executable binds
it to the constants of one closed jaxpr. A call makes inputs contiguous
arrays of the right dtype, allocates outputs with ``np.empty`` and makes one
native call through a ``CFUNCTYPE`` with explicit argtypes: ``py_object``
for the ``_py`` entry, which reads each array's data pointer natively
(~0.2 us per array instead of ~0.8 us for ``arr.ctypes.data``), or, if the
numpy object layout is not the expected one, ``c_void_p`` data pointers.
The entry's temporaries live in a workspace (see plan/workspace.py) that a call
takes from its NativeCode's pool and gives back after it, so calls running at
the same time (the native call releases the GIL) each have their own.
"""
import ctypes
from typing import NamedTuple

import numpy as np

from trax.core import Array
from trax.compiler.runtime import layout
from trax.compiler.plan.workspace import ALIGN

PY_ENTRY = layout.ARRAYS_OK     # may the ``_py`` entry read data pointers itself?


def new_workspace(nbytes):
    """A 64-byte aligned uint8 array of ``nbytes`` bytes."""
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + nbytes]


class Source(NamedTuple):
    """What code generation made of one jaxpr (see driver._compile)."""
    ir_text: str            # LLVM IR as generated
    kernels: list           # the fusion plan, one line per kernel
    loops: int              # loops of more than one trip
    calls_library: bool     # calls the math library (see math/mathlib.py)
    vectorized: bool        # loops emitted in vector form by trax (lower/vectorize.py)


class NativeCode:
    """A native entry point: ``entry(*inputs, *consts, *outputs, workspace)``,
    taking data pointers, and ``entry_py`` taking the arrays themselves (and
    the workspace only when ``workspace_bytes`` is not 0). ``source()``
    regenerates its :class:`Source` on demand (for ``as_text``). ``children``:
    the NativeCodes of the sub-entries it calls, kept alive with it."""

    def __init__(self, address, py_address, ws_address, name, source, jaxpr_text, n_args,
                 memory=None, children=()):
        self.address = address
        self.name = name
        self._source = source       # () -> Source
        self._text = None
        self.jaxpr_text = jaxpr_text
        self.workspace_bytes = ctypes.CFUNCTYPE(ctypes.c_int64)(ws_address)()
        self._pool = []
        if PY_ENTRY:
            n = n_args + (self.workspace_bytes > 0)
            self.fn = ctypes.CFUNCTYPE(None, *([ctypes.py_object] * n))(py_address)
        else:
            self.fn = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * (n_args + 1)))(address)
        # the code stays mapped while anything can call it: this NativeCode,
        # or an Executable's or a fast path's reference to ``fn``; and so does
        # the code of its sub-entries (control flow, see lower/control.py)
        self.fn.memory = memory
        self.fn.children = tuple(children)

    def take_workspace(self):
        """A workspace no running call uses (give it back after the call)."""
        try:
            return self._pool.pop()
        except IndexError:
            return new_workspace(self.workspace_bytes)

    def give_workspace(self, ws):
        self._pool.append(ws)

    @property
    def source(self):
        """The :class:`Source` of this code (generated again on first use)."""
        if self._text is None:
            self._text = self._source()
        return self._text

    ir_text = property(lambda self: self.source.ir_text)
    kernels = property(lambda self: self.source.kernels)
    loops = property(lambda self: self.source.loops)
    calls_library = property(lambda self: self.source.calls_library)
    vectorized = property(lambda self: self.source.vectorized)

    def emit_options(self):
        """engine.emit_object's choices for this code (see engine.emit_options)."""
        from trax.compiler.runtime import engine
        return engine.emit_options(self.loops, self.calls_library, self.vectorized)


class Executable:
    """``exe(*flat_args) -> [outputs]`` for one closed jaxpr."""

    def __init__(self, compiled, in_avals, consts, out_avals):
        self.compiled = compiled
        self._consts = tuple(np.asarray(c, order="C") for c in consts)   # kept alive
        self._const_args = self._consts if PY_ENTRY else \
            tuple(c.ctypes.data for c in self._consts)
        self._ins = tuple((a.shape, a.dtype) for a in in_avals)
        self._outs = tuple((a.shape, a.dtype) for a in out_avals)
        self._fn = compiled.fn

    @property
    def stats(self):
        from trax.compiler.runtime import cache
        return dict(cache.stats)

    def __call__(self, *args):
        if len(args) != len(self._ins):
            raise TypeError(f"compiled function takes {len(self._ins)} arguments, "
                            f"got {len(args)}")
        ins = []
        for x, (shape, dt) in zip(args, self._ins):
            x = np.asarray(x, dt)
            if not x.flags.c_contiguous:
                x = np.ascontiguousarray(x)
            if x.shape != shape:
                raise ValueError(f"compiled function expected an argument of shape "
                                 f"{shape}, got {x.shape}")
            ins.append(x)
        outs = [np.empty(shape, dt) for shape, dt in self._outs]
        c = self.compiled
        ws = c.take_workspace() if c.workspace_bytes else None
        try:
            if PY_ENTRY:
                self._fn(*ins, *self._const_args, *outs, *([ws] if ws is not None else []))
            else:
                self._fn(*[x.ctypes.data for x in ins], *self._const_args,
                         *[o.ctypes.data for o in outs], ws.ctypes.data if ws is not None else None)
        finally:
            if ws is not None:
                c.give_workspace(ws)
        return [o.view(Array) for o in outs]

    def fast_call(self):
        """A call path for arguments already known to be C-contiguous arrays
        of the right shapes and dtypes (the caller checked): only output
        allocation and the native call. Returns the single output itself
        when there is one, else the list of outputs; None when the native
        entry takes raw pointers (then use the checked call)."""
        if not PY_ENTRY:
            return None
        fn, consts, specs, empty, array = self._fn, self._const_args, self._outs, np.empty, Array
        if self.compiled.workspace_bytes:
            take, give = self.compiled.take_workspace, self.compiled.give_workspace

            def call_ws(*args):
                outs = [empty(shape, dt) for shape, dt in specs]
                ws = take()
                try:
                    fn(*args, *consts, *outs, ws)
                finally:
                    give(ws)
                out = [o.view(array) for o in outs]
                return out[0] if len(out) == 1 else out
            return call_ws
        if len(specs) == 1:
            (shape, dt), = specs

            def call_one(*args):
                out = empty(shape, dt)
                fn(*args, *consts, out)
                return out.view(array)
            return call_one

        def call(*args):
            outs = [empty(shape, dt) for shape, dt in specs]
            fn(*args, *consts, *outs)
            return [o.view(array) for o in outs]
        return call

    def as_text(self, kind="jaxpr"):
        """``"jaxpr"`` (optimized), ``"kernels"`` (the fusion plan), ``"llvm"``,
        ``"llvm_optimized"`` or ``"asm"``."""
        c = self.compiled
        if kind == "jaxpr":
            return c.jaxpr_text
        if kind == "kernels":
            return "\n".join(c.kernels)
        if kind == "llvm":
            return c.ir_text
        if kind == "llvm_optimized":
            from trax.compiler.runtime import engine
            return engine.optimized_ir(c.ir_text, c.emit_options()["o3"])
        if kind == "asm":
            from trax.compiler.runtime import engine
            return engine.assembly(c.ir_text, **c.emit_options())
        raise ValueError(f"unknown text kind {kind!r}; use jaxpr, kernels, llvm, "
                         f"llvm_optimized or asm")
