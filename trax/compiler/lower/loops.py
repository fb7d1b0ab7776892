"""Counted loops and loop nests in llvmlite IR.

Each loop has the canonical shape the vectorizer wants (one induction
variable counting up from 0 by 1 to a bound, ``nuw nsw`` increments). A
loop of a static trip count is emitted as the do-while that LLVM's loop
rotation would make of it (saves LLVM that work: the MLP gradient's O3 time
went from ~45 to ~40 ms); one of a single trip as straight-line code; one of
a dynamic count tests at the top.

Loops carry LLVM loop metadata chosen for compile time where run time
cannot gain much (see :func:`_hints`), and :func:`fold_tail` asks for a
vectorized loop without a scalar remainder.
"""
import math
from contextlib import ExitStack, contextmanager

from llvmlite import ir

from trax.compiler.lower.irtypes import I64, i64

# A loop is "cold" when its trip count times those of the loops around it is
# at most COLD_WORK: LLVM may not unroll it (full unrolling of short vectorized
# loops and prefetch loops grew the MLP gradient's code 4x and its compile time
# by ~40 ms). A cold loop of at most TINY_TRIPS trips that runs at most
# TINY_WORK times in all is not vectorized either (vectorizing the [128, 10]
# loops of a classifier's head cost ~10 ms of LLVM time for a microsecond).
COLD_WORK = 1 << 18
TINY_TRIPS = 16
TINY_WORK = 1 << 14


class _Loop:
    __slots__ = ("trips", "hints", "widths")

    def __init__(self, trips):
        self.trips = trips          # static trip count, or None
        self.hints = {}             # loop metadata asked for by the body
        self.widths = set()         # lane counts of the body's vector calls


def fold_tail(b, lanes=None):
    """Ask LLVM to vectorize the innermost loop being emitted with masked
    loads and stores for its last iteration instead of a scalar (or narrower
    vector) remainder loop: one copy of the body instead of two or three
    (used around outlined math calls, see outline.call). A hint: LLVM keeps a
    remainder loop when it cannot mask the body. ``lanes``: the lane count
    of the vector versions of the call in the body; when all calls of the
    loop agree, the loop is vectorized by that many lanes without
    interleaving, which spares LLVM weighing other widths (O3 of the 200-op
    chain: ~9.7 -> ~7.2 ms, the same code)."""
    stack = b.loops
    if stack:
        stack[-1].hints["llvm.loop.vectorize.predicate.enable"] = True
        if lanes is not None:
            stack[-1].widths.add(lanes)


def _hints(me, outer):
    hints = dict(me.hints)
    if len(me.widths) == 1:
        hints["llvm.loop.vectorize.width"], = me.widths
        hints["llvm.loop.interleave.count"] = 1
    trips = [lp.trips for lp in outer] + [me.trips]
    if None in trips:
        return hints
    work = math.prod(trips)
    if work <= COLD_WORK:
        hints["llvm.loop.unroll.disable"] = None
        if me.trips <= TINY_TRIPS and work <= TINY_WORK and not me.hints:
            hints["llvm.loop.vectorize.enable"] = False
    return hints


@contextmanager
def loop(b, count, name="i"):
    """``for i in range(count)``: emit the body inside the ``with`` block;
    yields ``i`` (an i64 value). The builder (an :class:`Emission`) ends after
    the loop."""
    me = _Loop(count if isinstance(count, int) else None)
    module = b.module
    stack = b.loops
    if me.trips == 1:               # straight-line code: nothing for LLVM to simplify
        stack.append(me)
        try:
            yield i64(0)
        finally:
            stack.pop()
        return
    b.loop_count += 1
    # a static trip count (more than one) runs at least once: emitted as a
    # do-while, the form LLVM's loop rotation would otherwise make of it
    rotated = (me.trips or 0) > 1
    pre = b.block
    head = None if rotated else b.append_basic_block(f"{name}.head")
    body = b.append_basic_block(f"{name}.body")
    done = b.append_basic_block(f"{name}.done")
    b.branch(body if rotated else head)
    b.position_at_end(body if rotated else head)
    i = b.phi(I64, name=name)
    i.add_incoming(i64(0), pre)
    if not rotated:
        b.cbranch(b.icmp_signed("<", i, i64(count) if isinstance(count, int) else count),
                  body, done)
        b.position_at_end(body)
    stack.append(me)
    try:
        yield i
    finally:
        stack.pop()
    nxt = b.add(i, i64(1), flags=("nuw", "nsw"))
    i.add_incoming(nxt, b.block)
    if rotated:
        latch = b.cbranch(b.icmp_signed("<", nxt, i64(me.trips)), body, done)
    else:
        latch = b.branch(head)
    hints = _hints(me, stack)
    if hints:
        latch.set_metadata("llvm.loop", loop_id(module, hints))
    b.position_at_end(done)


class _LoopID(ir.values.MDValue):
    """A self-referencing metadata node (LLVM's loop ID), unique per loop."""
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other


def loop_id(module, hints):
    """A new loop ID node carrying ``hints`` (``{name: value}``; value None
    for a flag such as ``llvm.loop.unroll.disable``, a bool for an i1 and an
    int for an i32 operand)."""
    ops = []
    for name, value in hints.items():
        args = [ir.MetaDataString(module, name)]
        if isinstance(value, bool):
            args.append(ir.Constant(ir.IntType(1), value))
        elif value is not None:
            args.append(ir.Constant(ir.IntType(32), value))
        ops.append(module.add_metadata(args))
    md = _LoopID(module, [], name=str(len(module.metadata)))
    md.operands = (md, *ops)
    return md


@contextmanager
def nest(b, shape, name="d"):
    """Nested loops over ``shape`` (row-major: the last axis innermost);
    yields the list of indices."""
    with ExitStack() as stack:
        idx = [stack.enter_context(loop(b, n, f"{name}{k}")) for k, n in enumerate(shape)]
        yield idx


def linear_index(b, dims, shape):
    """The row-major linear index of multi-index ``dims`` into ``shape``."""
    if not shape:
        return i64(0)
    lin = dims[0]
    for d, n in zip(dims[1:], shape[1:]):
        lin = b.add(b.mul(lin, i64(n), flags=("nuw", "nsw")), d, flags=("nuw", "nsw"))
    return lin


def split_index(b, lin, shape):
    """The multi-index of row-major linear index ``lin`` into ``shape``."""
    dims = []
    for n in reversed(shape[1:]):
        dims.append(b.urem(lin, i64(n)) if n != 1 else i64(0))
        lin = b.udiv(lin, i64(n)) if n != 1 else lin
    dims.append(lin if shape else None)
    return list(reversed(dims))[:len(shape)] if shape else []
