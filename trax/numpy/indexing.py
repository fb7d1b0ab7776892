"""numpy indexing (``x[idx]``) and functional updates (``x.at[idx].set(v)``).

An index is parsed into one entry per axis (after expanding ``...`` and
inserting the ``None`` axes), then applied in three steps:

1. static ints and slices: one ``lax.slice`` (plus ``lax.rev`` for negative
   steps); ints leave a size-1 axis that is squeezed at the end;
2. traced scalar ints (when there are no index arrays): ``dynamic_slice``;
3. index arrays (numpy's advanced indexing, with ints joining them): a
   ``gather`` on the indexed axes moved to the front; the broadcast index
   shape lands where numpy puts it.

Out-of-range indices follow JAX's ``mode`` (see trax.lax.indexing): after
negative indices are counted from the end once, ``x[idx]`` clamps them
(promise_in_bounds), ``x.at[idx].get(mode="fill", fill_value=...)`` fills,
and the updates ``x.at[idx].set(v)`` (``add``, ...) drop them unless
``mode="clip"``. ``take`` and ``take_along_axis`` fill by default.
Boolean masks must be concrete (their count decides the output shape).
"""
import numpy as np

from trax import dtypes, lax
from trax.core import Tracer, to_array
from trax.errors import NonConcreteBooleanIndexError, type_error, user_source_line
from trax.lax.helpers import canonical_mode
from trax.numpy.promotion import (aval, broadcast_shapes, broadcast_to,
                                  canonicalize_axis, convert, operand)

_INDEX_DTYPE = dtypes.int64


# ----------------------------------------------------------------------------
# parsing

class _Dyn:
    """A traced scalar integer index."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Arr:
    """An integer index array (concrete numpy or traced); ``mask_size`` is
    the length of the axis of the boolean mask it came from."""
    __slots__ = ("value", "mask_size")

    def __init__(self, value, mask_size=None):
        self.value = value
        self.mask_size = mask_size


def _mask_entries(mask):
    """The index arrays of a concrete boolean ``mask``, one per axis."""
    return [_Arr(i, n) for i, n in zip(np.nonzero(mask), mask.shape)]


def _bool_mask_error():
    where = user_source_line()
    return NonConcreteBooleanIndexError(
        "boolean mask indexing of a traced array: the number of selected elements "
        "(hence the output shape) is not known while tracing"
        + (f", at {where}" if where else "")
        + ". Use trax.numpy.where(mask, x, 0) (or another fill value) to keep the "
        "shape, or compute the mask outside the transformed function.")


def _concrete(x):
    """The concrete value of ``x``, or None for an abstract tracer."""
    if isinstance(x, Tracer):
        v = x.concrete_value()
        return None if v is None else np.asarray(v)
    return np.asarray(x)


def _parse_entry(e):
    """One index entry as a list of: None, Ellipsis, slice, int, _Dyn, _Arr."""
    if e is None or e is Ellipsis or isinstance(e, (slice, _Arr, _Dyn)):
        return [e]
    if isinstance(e, bool):
        raise IndexError("boolean scalar indices are not supported; use None to add an axis")
    if isinstance(e, (int, np.integer)):
        return [int(e)]
    if isinstance(e, Tracer):
        dt = aval(e).dtype
        if dt == np.bool_:
            val = _concrete(e)
            if val is None:
                raise _bool_mask_error()
            return _mask_entries(val)
        if dt.kind not in "iu":
            raise IndexError(f"index arrays must be integers or booleans, got {dt}")
        return [_Dyn(e) if aval(e).ndim == 0 else _Arr(e)]
    arr = np.asarray(e)
    if arr.dtype == np.bool_:
        if arr.ndim == 0:
            raise IndexError("boolean scalar indices are not supported")
        return _mask_entries(arr)
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(_INDEX_DTYPE)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"only integers, slices, None, Ellipsis and integer or "
                         f"boolean arrays are valid indices, not {arr.dtype} {e!r}")
    return [int(arr)] if arr.ndim == 0 else [_Arr(arr)]


def _parse(idx, nd):
    """Entries aligned with the axes of ``x`` after inserting the new axes,
    and the positions of those new axes."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    entries = [p for e in idx for p in _parse_entry(e)]
    if sum(e is Ellipsis for e in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(e is not None and e is not Ellipsis for e in entries)
    if used > nd:
        raise IndexError(f"too many indices for array: array is {nd}-dimensional, "
                         f"but {used} were indexed")
    if Ellipsis in entries:
        i = entries.index(Ellipsis)
        entries[i:i + 1] = [slice(None)] * (nd - used)
    else:
        entries += [slice(None)] * (nd - used)
    new_axes = [i for i, e in enumerate(entries) if e is None]
    entries = [slice(None) if e is None else e for e in entries]
    return entries, new_axes


def _check_masks(entries, shape):
    """An IndexError unless each boolean mask matches the axes it indexes."""
    for ax, (e, n) in enumerate(zip(entries, shape)):
        if isinstance(e, _Arr) and e.mask_size not in (None, n):
            raise IndexError(f"boolean index did not match indexed array along axis "
                             f"{ax}; size of axis is {n} but size of corresponding "
                             f"boolean axis is {e.mask_size}")


# ----------------------------------------------------------------------------
# applying

def _static_slices(x, entries):
    """Step 1: ints (clamped into range) and slices. Returns x and the axes
    to squeeze."""
    shape = aval(x).shape
    starts, limits, strides, reverse, squeeze = [], [], [], [], []
    for ax, (e, n) in enumerate(zip(entries, shape)):
        lo, hi, step = 0, n, 1
        if isinstance(e, int):
            if n == 0:
                raise IndexError(f"index {e} is out of bounds for axis {ax} with size 0")
            lo = min(max(e + n if e < 0 else e, 0), n - 1)
            hi = lo + 1
            squeeze.append(ax)
        elif isinstance(e, slice):
            start, stop, step = e.indices(n)
            m = len(range(start, stop, step))
            if m == 0:
                lo, hi, step = 0, 0, 1
            elif step > 0:
                lo, hi = start, start + (m - 1) * step + 1
            else:
                lo, hi, step = start + (m - 1) * step, start + 1, -step
                reverse.append(ax)
        starts.append(lo)
        limits.append(hi)
        strides.append(step)
    x = lax.slice(x, starts, limits, strides)
    return lax.rev(x, reverse), squeeze


def _normalize(i, n):
    """A negative index counted from the end (traced or concrete)."""
    if isinstance(i, Tracer):
        return lax.select_n(lax.lt(i, np.array(0, aval(i).dtype)), i,
                            lax.add(i, np.array(n, aval(i).dtype)))
    i = np.asarray(i)
    return np.where(i < 0, i + n, i)


def _dynamic_ints(x, entries):
    """Step 2: traced scalar ints via dynamic_slice. Returns x and axes to squeeze."""
    shape = aval(x).shape
    dyn = [ax for ax, e in enumerate(entries) if isinstance(e, _Dyn)]
    if not dyn:
        return x, []
    starts = [convert(_normalize(entries[ax].value, n), _INDEX_DTYPE)
              if ax in dyn else np.array(0, _INDEX_DTYPE) for ax, n in enumerate(shape)]
    sizes = [1 if ax in dyn else n for ax, n in enumerate(shape)]
    return lax.dynamic_slice(x, starts, sizes), dyn


def _gather(x, entries, mode, fill_value):
    """Step 3: advanced indexing with the index arrays in ``entries``."""
    shape = aval(x).shape
    adv = [ax for ax, e in enumerate(entries) if isinstance(e, _Arr)]
    idx = [_normalize(entries[ax].value, shape[ax]) for ax in adv]
    bshape = broadcast_shapes(*(aval(operand(i)).shape for i in idx), fname="indexing")
    if all(not isinstance(i, Tracer) for i in idx):
        stacked = np.stack([np.broadcast_to(i, bshape).astype(_INDEX_DTYPE) for i in idx], -1)
    else:
        cols = [lax.reshape(broadcast_to(convert(i, _INDEX_DTYPE), bshape, "indexing"),
                            bshape + (1,)) for i in idx]
        stacked = lax.concatenate(cols, len(bshape)) if len(cols) > 1 else cols[0]
    rest = [ax for ax in range(len(shape)) if ax not in adv]
    out = lax.gather(lax.transpose(x, adv + rest), stacked, mode, fill_value)
    contiguous = adv == list(range(adv[0], adv[0] + len(adv)))
    if contiguous and adv[0] > 0:
        nb, first = len(bshape), adv[0]
        out_nd = nb + len(rest)
        perm = list(range(nb, nb + first)) + list(range(nb)) + list(range(nb + first, out_nd))
        out = lax.transpose(out, perm)
    return out


def getitem(x, idx, mode=None, fill_value=None):
    """``x[idx]`` with numpy's indexing rules; out-of-range indices follow
    ``mode`` (default: clamped) and ``fill_value`` (see the module docstring)."""
    x = operand(x)
    mode = canonical_mode(mode, "promise_in_bounds")
    entries, new_axes = _parse(idx, aval(x).ndim)
    if new_axes:
        x = lax.expand_dims(x, new_axes)
    _check_masks(entries, aval(x).shape)
    if mode == "fill_or_drop" or any(isinstance(e, _Arr) for e in entries):
        # numpy: with index arrays present, scalar ints are index arrays too
        entries = [_Arr(e.value if isinstance(e, _Dyn) else np.asarray(e))
                   if isinstance(e, (int, _Dyn)) else e for e in entries]
    x, squeeze1 = _static_slices(x, entries)
    x, squeeze2 = _dynamic_ints(x, entries)
    if squeeze1 or squeeze2:
        x = lax.squeeze(x, sorted(squeeze1 + squeeze2))
    if any(isinstance(e, _Arr) for e in entries):
        kept = [e for ax, e in enumerate(entries) if ax not in squeeze1 + squeeze2]
        x = _gather(x, kept, mode, fill_value)
    return x


# ----------------------------------------------------------------------------
# functional updates: x.at[idx].set(v) and friends

def _has_tracer(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, Tracer) and i.concrete_value() is None for i in items)


def _flat_positions(shape, idx, mode):
    """The flat position in ``x`` of every element of ``x[idx]``: clamped
    into range for mode clip, -1 (dropped by the scatter) otherwise."""
    positions = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=_INDEX_DTYPE).reshape(shape)
    if not _has_tracer(idx):
        items = idx if isinstance(idx, tuple) else (idx,)
        try:
            return positions[tuple(_concrete(i) if isinstance(i, Tracer) else i for i in items)]
        except IndexError:
            pass    # out of range: numpy raises, the modes decide
    if mode == "clip":
        return getitem(to_array(positions), idx, mode="clip")
    return getitem(to_array(positions), idx, mode="fill", fill_value=-1)


def _scatter(name, lax_fn, x, idx, values, mode):
    x = operand(x)
    xa = aval(x)
    mode = canonical_mode(mode, "fill_or_drop")
    pos = _flat_positions(xa.shape, idx, mode)
    pshape = aval(operand(pos)).shape
    values = convert(operand(values), xa.dtype)
    vshape = aval(values).shape
    lead = 0
    while len(vshape) - lead > len(pshape) and vshape[lead] == 1:
        lead += 1    # numpy accepts extra leading size-1 axes in the updates
    if lead:
        values = lax.reshape(values, vshape[lead:])
    values = broadcast_to(values, pshape, name)
    flat = lax.reshape(x, (xa.size,))
    indices = pos[..., None] if isinstance(pos, np.ndarray) else lax.reshape(pos, pshape + (1,))
    return lax.reshape(lax_fn(flat, indices, values, mode), xa.shape)


class _IndexUpdateRef:
    """``x.at[idx]``: methods return an updated copy of ``x``. Their
    ``mode`` is JAX's: updates at out-of-range indices are dropped unless
    ``mode="clip"``; ``get`` clamps unless ``mode="fill"``."""
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def get(self, mode=None, fill_value=None):
        """``x[idx]`` (``fill_value`` for out-of-range indices with mode "fill")."""
        return getitem(self.array, self.index, mode, fill_value)

    def set(self, values, mode=None):
        """``x`` with ``x[idx] = values``."""
        return _scatter("at[].set", lax.scatter, self.array, self.index, values, mode)

    def add(self, values, mode=None):
        """``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        return _scatter("at[].add", lax.scatter_add, self.array, self.index, values, mode)

    def mul(self, values, mode=None):
        """``x`` with ``x[idx] *= values`` (repeated indices accumulate)."""
        return _scatter("at[].mul", lax.scatter_mul, self.array, self.index, values, mode)

    multiply = mul

    def min(self, values, mode=None):
        """``x`` with ``x[idx] = minimum(x[idx], values)``."""
        return _scatter("at[].min", lax.scatter_min, self.array, self.index, values, mode)

    def max(self, values, mode=None):
        """``x`` with ``x[idx] = maximum(x[idx], values)``."""
        return _scatter("at[].max", lax.scatter_max, self.array, self.index, values, mode)


class _IndexUpdateHelper:
    """The ``.at`` property: ``x.at[idx].set(v)`` instead of ``x[idx] = v``."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


# ----------------------------------------------------------------------------
# functions built on indexing

def _wrap_or_clip(indices, n, mode):
    """``indices`` brought into ``[0, n)``: modulo ``n`` (wrap) or clamped
    (clip, where negative indices become 0 as in numpy)."""
    dt = aval(indices).dtype
    if mode == "clip":
        return lax.clamp(np.array(0, dt), indices, np.array(n - 1, dt))
    r = lax.rem(indices, np.array(n, dt))
    return lax.select_n(lax.lt(r, np.array(0, dt)), r, lax.add(r, np.array(n, dt)))


def take(a, indices, axis=None, mode=None, fill_value=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flat array if
    None). Out-of-range indices, as in JAX: ``mode`` None or "fill" gives
    ``fill_value`` (default NaN for floats, the most negative int, the
    largest unsigned int, True) after counting negative indices from the
    end; "clip" clamps into range (negative indices to 0) and "wrap" takes
    them modulo the axis length."""
    a = operand(a)
    if axis is None:
        a, axis = lax.reshape(a, (aval(a).size,)), 0
    axis = canonicalize_axis(axis, aval(a).ndim, "take")
    indices = operand(indices)
    if aval(indices).dtype.kind not in "iu":
        raise type_error(f"take: indices must be integers, got {aval(indices).dtype}")
    if mode == "raise":
        raise NotImplementedError("take: mode='raise' is not supported (indices may be "
                                  "traced); use 'fill', 'clip' or 'wrap'")
    if mode not in (None, "fill", "clip", "wrap"):
        raise ValueError(f"take: unknown mode {mode!r}; expected None, 'fill', 'clip' "
                         f"or 'wrap'")
    n = aval(a).shape[axis]
    if mode in ("clip", "wrap"):
        if n:   # (an empty axis: the gather says it cannot be indexed)
            indices = _wrap_or_clip(indices, n, mode)
        mode = "promise_in_bounds"
    return getitem(a, (slice(None),) * axis + (_Arr(indices),), mode or "fill", fill_value)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """``arr`` indexed by ``indices`` along ``axis``, other axes matched
    elementwise (numpy.take_along_axis). Out-of-range indices follow
    ``mode`` as in ``x.at[idx].get``, but by default they are filled
    (JAX's default)."""
    arr, indices = operand(arr), operand(indices)
    if axis is None:
        arr, axis = lax.reshape(arr, (aval(arr).size,)), 0
        indices = lax.reshape(indices, (aval(indices).size,))
    nd = aval(arr).ndim
    if aval(indices).ndim != nd:
        raise type_error(f"take_along_axis: indices of rank {aval(indices).ndim} must "
                         f"have the rank of arr ({nd})")
    axis = canonicalize_axis(axis, nd, "take_along_axis")
    idx = []
    for ax in range(nd):
        if ax == axis:
            idx.append(indices if isinstance(indices, Tracer) else np.asarray(indices))
        else:
            shape = [1] * nd
            shape[ax] = aval(arr).shape[ax]
            idx.append(np.arange(aval(arr).shape[ax]).reshape(shape))
    return getitem(arr, tuple(_Arr(i) for i in idx), "fill" if mode is None else mode,
                   fill_value)


def nonzero(a, size=None, fill_value=0):
    """The indices of the nonzero elements of a concrete ``a``, one array per
    axis (``size`` pads or truncates them to a fixed length)."""
    val = _concrete(operand(a))
    if val is None:
        raise NonConcreteBooleanIndexError(
            "nonzero of a traced array has a data-dependent shape; pass size=... "
            "is not supported either while tracing. Use trax.numpy.where(c, x, y).")
    out = np.nonzero(val)
    if size is not None:
        out = [np.concatenate([o[:size], np.full(max(size - len(o), 0), fill_value,
                                                  o.dtype)]) for o in out]
    return tuple(to_array(o) for o in out)


def argwhere(a):
    """The indices of the nonzero elements of a concrete ``a``, as rows."""
    return to_array(np.stack([np.asarray(i) for i in nonzero(a)], -1))


def flatnonzero(a):
    """The flat indices of the nonzero elements of a concrete ``a``."""
    return nonzero(np.ravel(_concrete(operand(a))))[0]
