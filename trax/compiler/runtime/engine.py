"""One long-lived LLVM JIT engine for the whole process.

Everything native in trax goes through this module:

* :func:`compile_ir` parses textual LLVM IR, verifies it, optimizes it at O3
  (new pass manager, loop + SLP vectorization on) for the host CPU and adds it
  to a single MCJIT engine that lives as long as the process.  It returns the
  addresses of the requested functions.  Modules are never removed (MCJIT leaks
  when modules are removed), so callers should compile each kernel once and
  cache the address.  Function names must be unique across the process: a
  second definition of an already-compiled name raises ``ValueError``.
* :func:`optimized_ir` / :func:`assembly` show what the optimizer and code
  generator make of a piece of IR, for inspection and tests.
* :func:`emit_object` / :func:`load_object` produce and load relocatable object
  code for the on-disk cache; :func:`cpu_signature` is the matching cache
  key (an object is only valid for the same triple, CPU, features and LLVM).
  External symbols come from :mod:`trax.compiler.runtime.symbols`.

All functions are thread-safe (guarded by one re-entrant lock).
"""

from __future__ import annotations

import threading

import llvmlite
import llvmlite.binding as llvm

from trax.compiler.runtime import compile_worker, cpu, symbols

__all__ = [
    "compile_ir",
    "optimize",
    "optimized_ir",
    "assembly",
    "emit_object",
    "load_object",
    "cpu_signature",
    "target_machine",
    "host_info",
    "vector_bits",
]

_lock = threading.RLock()
_state = None


class _State:
    def __init__(self):
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        self.triple = llvm.get_process_triple()
        self.cpu = llvm.get_host_cpu_name()
        try:
            self.features = llvm.get_host_cpu_features().flatten()
        except RuntimeError:  # some hosts cannot report features
            self.features = ""
        target = llvm.Target.from_triple(self.triple)
        self.tm = target.create_target_machine(
            cpu=self.cpu, features=self.features, opt=3, jit=True
        )
        self.data_layout = str(self.tm.target_data)
        # A single engine; it is made with an empty module and grows. The
        # empty module is taken out again before anything is finalized:
        # code generation for it costs ~1.2 ms, a disk-cache hit's whole
        # load of object code ~0.3 ms.
        base = llvm.parse_assembly("")
        base.triple = self.triple
        base.data_layout = self.data_layout
        self.ee = llvm.create_mcjit_compiler(base, self.tm)
        self.ee.remove_module(base)
        self.defined: set[str] = set()
        self.symbols: dict[str, int] = {}     # given to LLVM


def _link_symbols(s: _State) -> None:
    """Hand LLVM the symbols registered since the last link."""
    for name, address in symbols.items():
        if s.symbols.get(name) != address:
            llvm.add_symbol(name, address)
            s.symbols[name] = address


def _get() -> _State:
    global _state
    if _state is None:
        with _lock:
            if _state is None:
                _state = _State()
    return _state


def target_machine():
    """The host ``TargetMachine`` (opt=3, host cpu and features, jit=True)."""
    return _get().tm


def host_info() -> dict:
    """Triple, cpu name and feature string of the host."""
    s = _get()
    return {"triple": s.triple, "cpu": s.cpu, "features": s.features}


def vector_bits() -> int:
    """Width in bits of the host's widest float vector registers (512 with
    AVX-512F, 256 with AVX, else 128)."""
    return cpu.vector_bits(_get().features.split(","))


def cpu_signature() -> str:
    """A string identifying the code generation target, for cache keys."""
    s = _get()
    return "|".join(
        [s.triple, s.cpu, s.features, "llvmlite-" + llvmlite.__version__,
         "llvm-" + ".".join(map(str, llvm.llvm_version_info))]
    )


def _parse(ir_text: str):
    s = _get()
    mod = llvm.parse_assembly(ir_text)
    mod.triple = s.triple
    mod.data_layout = s.data_layout
    mod.verify()
    return mod


def optimize(module_ref, o3: bool = True) -> None:
    """Run the O3 pipeline (loop + SLP vectorization on) over ``module_ref``
    in place; with ``o3=False``, a short one for a module whose loops trax
    vectorized itself (see lower/vectorize.py): SROA, instruction combining, CFG
    simplification."""
    s = _get()
    with _lock:
        if not o3:
            pb = llvm.create_pass_builder(s.tm, llvm.create_pipeline_tuning_options(speed_level=1))
            short = llvm.create_new_module_pass_manager()
            short.add_sroa_pass()
            short.add_instruction_combine_pass()
            short.add_simplify_cfg_pass()
            short.run(module_ref, pb)
            return
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pb = llvm.create_pass_builder(s.tm, pto)
        mpm = pb.getModulePassManager()
        mpm.run(module_ref, pb)
        # the vector calls the loop vectorizer made to alwaysinline functions
        # (outline.call(inline=True)) are inlined only now
        late = llvm.create_new_module_pass_manager()
        late.add_always_inliner_pass()
        late.add_global_dead_code_eliminate_pass()
        late.run(module_ref, pb)


def _defined_functions(mod) -> list[str]:
    """The functions ``mod`` defines for other modules to see (internal ones
    are local to its object code and may repeat in other modules)."""
    local = (llvm.Linkage.internal, llvm.Linkage.private)
    return [f.name for f in mod.functions if not f.is_declaration and f.linkage not in local]


def compile_ir(ir_text: str, names) -> dict:
    """Compile ``ir_text`` into the process-wide engine.

    Returns ``{name: address}`` for every name in ``names``.  Raises
    ``ValueError`` if the module defines a function that an earlier call
    already defined, or if a requested name is not defined by the module.
    """
    names = list(names)
    s = _get()
    with _lock:
        mod = _parse(ir_text)
        defs = _defined_functions(mod)
        clash = [n for n in defs if n in s.defined]
        if clash:
            raise ValueError(f"functions already compiled in this process: {clash}")
        missing = [n for n in names if n not in defs]
        if missing:
            raise ValueError(f"functions not defined by the module: {missing}")
        optimize(mod)
        _link_symbols(s)
        s.ee.add_module(mod)
        s.ee.finalize_object()
        s.defined.update(defs)
        return _addresses(s, names)


def optimized_ir(ir_text: str, o3: bool = True) -> str:
    """The module after :func:`optimize`, as text (nothing is added to the engine)."""
    with _lock:
        mod = _parse(ir_text)
        optimize(mod, o3)
        return str(mod)


def assembly(ir_text: str, o3: bool = True, strength_reduce: bool = True,
             schedule: bool = True) -> str:
    """Optimized host assembly for ``ir_text`` (nothing is added to the
    engine); choices as for :func:`emit_object`."""
    return _emit(ir_text, lambda tm, mod: tm.emit_assembly(mod), o3,
                 strength_reduce=strength_reduce, schedule=schedule)


# LLVM's loop strength reduction searches longer the more loops a module has
# (11 of the MLP gradient's 35 ms of machine-code generation, 31 loops) and
# buys little in such modules, whose loops are mostly short row kernels: a
# module with more loops than this is emitted without it (MLP gradient: code
# generation ~33 -> ~24 ms; its run time, and softmax's and layer norm's at
# 6-10 loops, not slower; the hessian at n=100, 6 loops, ran 16% slower without)
LSR_MAX_LOOPS = 16


def emit_options(n_loops, calls_library, vectorized):
    """engine.emit_object's choices for a module of ``n_loops`` loops. One
    that calls the math library (small arrays, many transcendentals: its
    loops are mostly calls) is emitted without loop strength reduction and
    the machine scheduler: the 200-op chain's machine code took ~1.5 ms less
    (of ~11), and it, a 40000-element chain and a fused sum of 15
    transcendentals over [200, 250] ran no slower (within noise). One whose
    loops trax ``vectorized`` itself gets the short pipeline, not O3."""
    return {"o3": not vectorized,
            "strength_reduce": n_loops <= LSR_MAX_LOOPS and not calls_library,
            "schedule": not calls_library}


def emit_object(ir_text: str, o3: bool = True, strength_reduce: bool = True,
                schedule: bool = True) -> bytes:
    """Optimized relocatable object code (ELF on Linux) for ``ir_text``.
    ``o3`` as for :func:`optimize`; ``strength_reduce=False`` leaves out
    LLVM's loop strength reduction, ``schedule=False`` its machine
    instruction scheduler (before register allocation); each through a
    global LLVM option set for this call only. Made here, or by a worker
    process once this one has optimized many modules (see compile_worker)."""
    options = {"o3": o3, "strength_reduce": strength_reduce, "schedule": schedule}
    return compile_worker.emit_object(ir_text, options, emit_object_here)


def emit_object_here(ir_text: str, o3: bool = True, strength_reduce: bool = True,
                     schedule: bool = True) -> bytes:
    """:func:`emit_object` in this process."""
    return _emit(ir_text, lambda tm, mod: bytes(tm.emit_object(mod)), o3,
                 strength_reduce=strength_reduce, schedule=schedule)


# code generation choices -> (LLVM option leaving the step out, the option
# as it was). -enable-misched=true is what x86 subtargets choose by default
_LEAVE_OUT = {"strength_reduce": ("-disable-lsr=true", "-disable-lsr=false"),
              "schedule": ("-enable-misched=false", "-enable-misched=true")}


def _emit(ir_text, emit, o3, **choices):
    s = _get()
    with _lock:
        mod = _parse(ir_text)
        optimize(mod, o3)
        left_out = [_LEAVE_OUT[k] for k, v in choices.items() if not v]
        for option, _ in left_out:
            llvm.set_option("trax", option)
        try:
            return emit(s.tm, mod)
        finally:
            for _, option in left_out:
                llvm.set_option("trax", option)


def load_object(data: bytes, names) -> dict:
    """Load object code made by :func:`emit_object` (possibly in another process
    with the same :func:`cpu_signature`) and return ``{name: address}``.

    External symbols that the object calls must be resolvable (libm/libc are;
    register others first in :mod:`trax.compiler.runtime.symbols`).  As with
    :func:`compile_ir`, names must be unique in the process.
    """
    names = list(names)
    s = _get()
    with _lock:
        clash = [n for n in names if n in s.defined]
        if clash:
            raise ValueError(f"functions already compiled in this process: {clash}")
        _link_symbols(s)
        s.ee.add_object_file(llvm.ObjectFileRef.from_data(bytes(data)))
        s.ee.finalize_object()
        out = _addresses(s, names)
        s.defined.update(names)
        return out


def _addresses(s, names) -> dict:
    """``{name: address}`` of functions the engine has finalized."""
    out = {}
    for n in names:
        addr = s.ee.get_function_address(n)
        if not addr:
            raise RuntimeError(f"no address for compiled function {n!r}")
        out[n] = addr
    return out

