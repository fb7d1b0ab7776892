"""Counted loops and loop nests in llvmlite IR.

Each loop has the canonical shape the vectorizer wants (one induction
variable counting up from 0 by 1 to a bound, ``nuw nsw`` increments);
LLVM's loop rotation turns it into a do-while before vectorizing.
"""
from contextlib import ExitStack, contextmanager

from llvmlite import ir

from trax.compiler.irtypes import I64, i64


@contextmanager
def loop(b, count, name="i"):
    """``for i in range(count)``: emit the body inside the ``with`` block;
    yields ``i`` (an i64 value). The builder ends after the loop."""
    count = i64(count) if isinstance(count, int) else count
    pre = b.block
    head = b.append_basic_block(f"{name}.head")
    body = b.append_basic_block(f"{name}.body")
    done = b.append_basic_block(f"{name}.done")
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64, name=name)
    i.add_incoming(i64(0), pre)
    b.cbranch(b.icmp_signed("<", i, count), body, done)
    b.position_at_end(body)
    yield i
    nxt = b.add(i, i64(1), flags=("nuw", "nsw"))
    i.add_incoming(nxt, b.block)
    b.branch(head)
    b.position_at_end(done)


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


def is_const(v, value=None):
    return isinstance(v, ir.Constant) and (value is None or v.constant == value)
