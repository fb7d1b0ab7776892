"""LLVM's description of the host, remembered so a disk-cache hit needs no LLVM.

The disk cache is keyed on the code generation target as LLVM names it
(:func:`trax.compiler.runtime.engine.cpu_signature`: triple, CPU, features, llvmlite
and LLVM versions). Asking LLVM means loading llvmlite's library, which
costs a new process 20-40 ms, while everything else a cache hit does takes
less. So the answer is kept in the cache directory (``host/``) under a
fingerprint of what determines it: the kernel's description of the CPU
(``/proc/cpuinfo``: vendor, family, model, stepping, flags), the machine,
and llvmlite's version and library file (path, size, modification time).
Where there is no ``/proc/cpuinfo``, or the disk cache is disabled, LLVM is
asked every time.
"""
import os
import sys

from trax.compiler.runtime import cache, cpu

__all__ = ["fingerprint", "signature", "features", "vector_bits"]

_CPU_KEYS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags")
_signature = None


def _cpu_description():
    """The first processor's identifying lines of /proc/cpuinfo, or None."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return None
    lines = []
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        if key.strip() in _CPU_KEYS:
            lines.append(f"{key.strip()}:{value.strip()}")
    return "\n".join(lines) if any(x.startswith("flags:") for x in lines) else None


def _llvmlite_description():
    import llvmlite          # only its version module: the library is not loaded
    here = os.path.join(os.path.dirname(llvmlite.__file__), "binding")
    libs = []
    for name in sorted(os.listdir(here)):
        if "llvmlite" in name and not name.endswith(".py"):
            st = os.stat(os.path.join(here, name))
            libs.append(f"{os.path.join(here, name)} {st.st_size} {st.st_mtime_ns}")
    return f"llvmlite {llvmlite.__version__}\n" + "\n".join(libs)


def fingerprint():
    """A hash of what determines LLVM's view of this host, or None."""
    cpu = _cpu_description()
    if cpu is None:
        return None
    text = f"{sys.platform} {os.uname().machine}\n{cpu}\n{_llvmlite_description()}"
    return cache.digest(text.encode()).hex()


def signature():
    """:func:`trax.compiler.runtime.engine.cpu_signature`, from the disk cache when
    this host's fingerprint is there."""
    global _signature
    if _signature is None:
        fp = fingerprint()

        def ask_llvm():
            from trax.compiler.runtime import engine
            return engine.cpu_signature().encode()

        _signature = cache.through(None if fp is None else cache.entry_path("host", fp),
                                   ask_llvm, bytes.decode)
    return _signature


def features():
    """The host's CPU features as LLVM lists them (``+avx2``, ``-avx512f``, ...)."""
    return signature().split("|")[2].split(",")


def vector_bits() -> int:
    """Width in bits of the host's widest float vector registers (see
    cpu.vector_bits)."""
    return cpu.vector_bits(features())
