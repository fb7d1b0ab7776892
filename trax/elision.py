"""Eager arithmetic reuses the memory of big temporaries, as NumPy does.

NumPy computes ``(x - mu) ** 2`` into the buffer of the temporary ``x - mu``
instead of allocating another array, but only for exact ``ndarray``s, not
for subclasses such as :class:`trax.core.Array`. Without it, eager layer
norm over 4096x1024 float32 took twice NumPy's time (mostly the kernel
zeroing fresh pages for each new 16 MB result).

:class:`ReuseTemporaries` gives Array's arithmetic operators the same
behaviour. An operand's buffer is reused only when all of these hold:

* the operator was called by a ``BINARY_OP`` instruction of the calling
  Python frame (not by C code such as ``map(operator.sub, ...)``, which may
  hold references that the count below does not see);
* its reference count is exactly that of an operand that lives only on the
  interpreter's value stack, measured at import on this interpreter
  (:func:`_temporary_refs`; where a named operand would show the same count,
  as with borrowed stack references, reuse is off);
* it is an Array of at least ``MIN_BYTES`` of writeable data that it owns,
  or whose owner is an ndarray referenced by nothing else (NumPy's ufuncs
  return subclass results as views of such a fresh ndarray);
* it is floating or complex, the other operand is a Python or NumPy scalar
  or an ndarray/Array, and the result has the operand's dtype and shape (no
  promotion, no broadcast growth).

Results are bit-for-bit those of the ndarray operators.
"""
import dis
import sys

import numpy as np

MIN_BYTES = 1 << 18             # NumPy's threshold too
_BINARY_OP = dis.opmap.get("BINARY_OP")
_SCALARS = (int, float, complex, bool, np.generic)

#: how many times a temporary's buffer was reused (for tests)
reused = 0

_refcount = getattr(sys, "getrefcount", None)


class _Probe:
    def __sub__(self, other):
        return _refcount(self)


def _temporary_refs():
    """The reference count an operator method sees for a temporary left
    operand (None if a named operand shows the same count, or if this Python
    has no reference counts)."""
    if _refcount is None or _BINARY_OP is None:
        return None
    named = _Probe()
    n = named - 0
    t = _Probe() - 0
    return t if t < n else None


_TEMPORARY = _temporary_refs()
if _TEMPORARY is None:
    def _refcount(a):       # (never equal to _TEMPORARY: nothing is reused)
        return -1


def _base_refs(a):
    base = a.base
    return sys.getrefcount(base) if _TEMPORARY is not None else None


class _View(np.ndarray):
    pass


# the count that _base_refs, and _sole_owner, see for a base referenced only
# by its view
_SOLE_BASE = _base_refs(np.empty(2).view(_View))


def _sole_owner(a):
    """Is ``a``'s buffer its own, or its base's that nothing else references?"""
    base = a.base
    if base is None:
        return True
    return (type(base) is np.ndarray and base.base is None and base.nbytes == a.nbytes
            and sys.getrefcount(base) == _SOLE_BASE)


def _reusable(a, other, frame):
    """Given that ``a`` showed a temporary's reference count: may the
    operator called from ``frame`` write its result into ``a``?"""
    if frame.f_code.co_code[frame.f_lasti] != _BINARY_OP:
        return False
    if not a.flags.writeable or a.nbytes < MIN_BYTES or not _sole_owner(a):
        return False
    if not (isinstance(other, _SCALARS) or type(other) in (np.ndarray, type(a))):
        return False
    # (for inexact operands, + - * / give the promoted type)
    return (a.dtype.kind in "fc" and np.result_type(a, other) == a.dtype
            and np.broadcast_shapes(a.shape, np.shape(other)) == a.shape)


def _into(a, ufunc, *operands):
    global reused
    reused += 1
    return ufunc(*operands, out=a)


def _operator(ufunc, name, reflected):
    base = getattr(np.ndarray, name)

    def op(self, other):
        # (the count is read first, as _Probe reads it)
        if _refcount(self) == _TEMPORARY and _reusable(self, other, sys._getframe(1)):
            return _into(self, ufunc, other, self) if reflected else \
                _into(self, ufunc, self, other)
        return base(self, other)
    op.__name__ = name
    return op


def _pow(self, other):
    if (_refcount(self) == _TEMPORARY and type(other) is int and other == 2
            and _reusable(self, other, sys._getframe(1))):
        return _into(self, np.square, self)     # what ndarray's ** 2 computes
    return np.ndarray.__pow__(self, other)


class ReuseTemporaries:
    """Mixin for an ndarray subclass: ``+ - * / **2`` reuse a temporary
    operand's buffer (see the module docstring)."""


for _ufunc, _names in ((np.add, ("__add__", "__radd__")),
                       (np.subtract, ("__sub__", "__rsub__")),
                       (np.multiply, ("__mul__", "__rmul__")),
                       (np.true_divide, ("__truediv__", "__rtruediv__"))):
    for _name, _reflected in zip(_names, (False, True)):
        setattr(ReuseTemporaries, _name, _operator(_ufunc, _name, _reflected))
ReuseTemporaries.__pow__ = _pow
