"""The state of one module's emission, carried with its IR builder.

Rules receive an :class:`Emission` wherever they receive a builder: it *is*
the ``llvmlite`` builder (so ``b.fadd(...)`` works as before) and holds what
emission needs to remember besides the IR -- the loops being emitted, how
many there were, whether the module calls the math library, and which math
functions must be kept alive for LLVM's vectorizer. Nothing is stored on
llvmlite's modules or functions. A nested region (a branch, a loop body)
keeps emitting through the same Emission, positioned elsewhere, so its
loops nest inside the enclosing ones.
"""
from llvmlite import ir


class Emission(ir.IRBuilder):
    """An IR builder with the emission state of its module."""

    def __init__(self, block=None, library_lanes=None):
        super().__init__(block)
        self.loops = []             # the loops being emitted, innermost last (loops.py)
        self.loop_count = 0         # loops of more than one trip emitted so far
        # bytes per element -> the math library's vector lane counts, when the
        # module calls the library (see math/mathlib.py); else None
        self.library_lanes = library_lanes
        self.math_used = []         # vector math functions to keep alive (outline.finish)
