"""External symbols compiled code calls, by name: ``table`` maps each to its
address. :mod:`~trax.compiler.runtime.blas` registers the gemm it found; the LLVM
engine and the object loader (:mod:`~trax.compiler.runtime.elfload`) both resolve
undefined symbols through this table before looking in the process."""

table = {}


def register(name, address):
    """Make ``name`` resolve to ``address`` in code loaded from now on."""
    table[name] = address
