"""External symbols compiled code calls, by name: ``table`` maps each to its
address. :mod:`~trax.compiler.runtime.blas` registers the gemm it found; the LLVM
engine and the object loader (:mod:`~trax.compiler.runtime.elfload`) both resolve
undefined symbols through this table before looking in the process."""
import threading

table = {}
_lock = threading.Lock()


def register(name, address):
    """Make ``name`` resolve to ``address`` in code loaded from now on."""
    with _lock:
        table[name] = address


def items():
    """A copy of ``table``'s items (threads may register while it is read)."""
    with _lock:
        return list(table.items())
