"""Shape manipulation: reshape, transpose, expand/squeeze, broadcasting,
joining (concatenate, stack, ...), splitting, tile/repeat, flip, pad, roll.
"""
import builtins

import numpy as np

from trax import lax
from trax.errors import type_error
from trax.numpy.promotion import (aval, broadcast_shapes, broadcast_to,  # noqa: F401
                                  canonicalize_axes, canonicalize_axis, convert,
                                  ndim, operand, promote_dtypes, shape, size)


def _new_shape(fname, old_shape, newshape):
    if isinstance(newshape, (int, np.integer)):
        newshape = (newshape,)
    newshape = [int(d) for d in newshape]
    total = int(np.prod(old_shape, dtype=np.int64))
    unknown = [i for i, d in enumerate(newshape) if d == -1]
    known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
    if len(unknown) > 1 or builtins.any(d < -1 for d in newshape):
        raise type_error(f"{fname}: invalid new shape {tuple(newshape)} (at most one "
                         f"-1 and no other negative sizes)")
    if unknown:
        if known == 0 or total % known:
            raise type_error(f"{fname}: cannot reshape an array of shape "
                             f"{tuple(old_shape)} ({total} elements) into shape "
                             f"{tuple(newshape)}")
        newshape[unknown[0]] = total // known
    if int(np.prod(newshape, dtype=np.int64)) != total:
        raise type_error(f"{fname}: cannot reshape an array of shape {tuple(old_shape)} "
                         f"({total} elements) into shape {tuple(newshape)}")
    return tuple(newshape)


def reshape(a, shape=None, order="C", *, newshape=None):
    """``a`` with its elements (row-major) in ``shape``; one size may be -1."""
    shape = newshape if shape is None else shape
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    a = operand(a)
    return lax.reshape(a, _new_shape("reshape", aval(a).shape, shape))


def ravel(a, order="C"):
    """``a`` flattened to 1-D."""
    return reshape(a, -1, order)


def transpose(a, axes=None):
    """Permute the axes of ``a`` (reverse them when ``axes`` is None)."""
    a = operand(a)
    nd = aval(a).ndim
    if axes is None:
        axes = tuple(range(nd))[::-1]
    axes = tuple(canonicalize_axis(x, nd, "transpose") for x in axes)
    if sorted(axes) != list(range(nd)):
        raise type_error(f"transpose: axes {axes} are not a permutation of "
                         f"{tuple(range(nd))}")
    return lax.transpose(a, axes)


def matrix_transpose(x):
    """Swap the last two axes of ``x``."""
    nd = aval(x).ndim
    if nd < 2:
        raise type_error(f"matrix_transpose needs rank >= 2, got rank {nd}")
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    """Exchange two axes of ``a``."""
    nd = aval(a).ndim
    perm = list(range(nd))
    i, j = canonicalize_axis(axis1, nd, "swapaxes"), canonicalize_axis(axis2, nd, "swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    """Move axes ``source`` to positions ``destination`` (ints or tuples)."""
    nd = aval(a).ndim
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise type_error("moveaxis: source and destination need the same number of axes")
    src = [canonicalize_axis(s, nd, "moveaxis") for s in src]
    dst = [canonicalize_axis(d, nd, "moveaxis") for d in dst]
    rest = [i for i in range(nd) if i not in src]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    perm = [p if p is not None else next(it) for p in perm]
    return transpose(a, perm)


def expand_dims(a, axis):
    """Insert size-1 axes at positions ``axis`` (int or tuple) of the result."""
    a = operand(a)
    n_new = 1 if isinstance(axis, (int, np.integer)) else len(axis)
    axes = canonicalize_axes(axis, aval(a).ndim + n_new, "expand_dims")
    return lax.expand_dims(a, axes)


def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    a = operand(a)
    shp = aval(a).shape
    if axis is None:
        axes = tuple(i for i, d in enumerate(shp) if d == 1)
    else:
        axes = canonicalize_axes(axis, len(shp), "squeeze")
        bad = [i for i in axes if shp[i] != 1]
        if bad:
            raise type_error(f"squeeze: cannot squeeze axis {bad[0]} of size "
                             f"{shp[bad[0]]} (shape {shp})")
    return lax.squeeze(a, axes) if axes else a


def broadcast_arrays(*args):
    """The arguments broadcast to their common shape."""
    args = [operand(a) for a in args]
    shp = broadcast_shapes(*(aval(a).shape for a in args), fname="broadcast_arrays")
    return [broadcast_to(a, shp, "broadcast_arrays") for a in args]


def atleast_1d(*arys):
    """Each argument with at least one axis."""
    out = [reshape(a, (1,)) if ndim(a) == 0 else operand(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Each argument with at least two axes (new axes in front)."""
    out = [reshape(a, (1,) * (2 - ndim(a)) + shape(a)) if ndim(a) < 2 else operand(a)
           for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Each argument with at least three axes (numpy's placement)."""
    def to3(a):
        s = shape(a)
        new = {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s))
        return operand(a) if new is None else reshape(a, new)
    out = [to3(a) for a in arys]
    return out[0] if len(out) == 1 else out


# ----------------------------------------------------------------------------
# joining

def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (``axis=None`` flattens first)."""
    arrays = [operand(a) for a in arrays]
    if not arrays:
        raise type_error("concatenate needs at least one array")
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    arrays = promote_dtypes(*arrays)
    if dtype is not None:
        arrays = [convert(a, dtype) for a in arrays]
    shapes = [aval(a).shape for a in arrays]
    if len({len(s) for s in shapes}) > 1 or len(shapes[0]) == 0:
        raise type_error(f"concatenate: arrays must have the same rank >= 1, got "
                         f"shapes {', '.join(map(str, shapes))}")
    axis = canonicalize_axis(axis, len(shapes[0]), "concatenate")
    for s in shapes:
        if s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise type_error(f"concatenate: shapes {', '.join(map(str, shapes))} differ "
                             f"outside the concatenation axis {axis}")
    return arrays[0] if len(arrays) == 1 else lax.concatenate(arrays, axis)


def stack(arrays, axis=0, dtype=None):
    """Join arrays of one shape along a new axis."""
    arrays = [operand(a) for a in arrays]
    if not arrays:
        raise type_error("stack needs at least one array")
    shapes = {aval(a).shape for a in arrays}
    if len(shapes) > 1:
        raise type_error(f"stack: all arrays must have the same shape, got "
                         f"{', '.join(str(aval(a).shape) for a in arrays)}")
    axis = canonicalize_axis(axis, aval(arrays[0]).ndim + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis, dtype)


def hstack(tup):
    """Concatenate along axis 1 (axis 0 for 1-D arrays)."""
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if ndim(arrs[0]) == 1 else 1)


def vstack(tup):
    """Concatenate along axis 0 after making arrays at least 2-D."""
    return concatenate([atleast_2d(a) for a in tup], 0)


row_stack = vstack


def dstack(tup):
    """Concatenate along axis 2 after making arrays at least 3-D."""
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup):
    """Stack 1-D arrays as columns (2-D arrays are concatenated)."""
    return concatenate([reshape(a, (-1, 1)) if ndim(a) < 2 else operand(a)
                        for a in tup], 1)


# ----------------------------------------------------------------------------
# splitting

def _slice_axis(a, start, stop, axis):
    shp = aval(a).shape
    starts = [0] * len(shp)
    limits = list(shp)
    starts[axis], limits[axis] = start, stop
    return lax.slice(a, starts, limits)


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices."""
    return _split("split", ary, indices_or_sections, axis, equal=True)


def array_split(ary, indices_or_sections, axis=0):
    """Like split, but sections may differ in size by one."""
    return _split("array_split", ary, indices_or_sections, axis, equal=False)


def _split(fname, ary, sections, axis, equal):
    ary = operand(ary)
    axis = canonicalize_axis(axis, aval(ary).ndim, fname)
    n = aval(ary).shape[axis]
    if isinstance(sections, (int, np.integer)):
        k = int(sections)
        if k <= 0 or (equal and n % k):
            raise type_error(f"{fname}: an axis of size {n} cannot be split into "
                             f"{k} equal sections")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        bounds = np.cumsum([0] + sizes).tolist()
    else:
        idx = [builtins.min(builtins.max(int(i) + (n if i < 0 else 0), 0), n)
               for i in sections]
        bounds = [0] + idx + [n]
    return [_slice_axis(ary, lo, builtins.max(lo, hi), axis)
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def hsplit(ary, indices_or_sections):
    """split along axis 1 (axis 0 for 1-D arrays)."""
    return split(ary, indices_or_sections, 0 if ndim(ary) == 1 else 1)


def vsplit(ary, indices_or_sections):
    """split along axis 0."""
    return split(ary, indices_or_sections, 0)


# ----------------------------------------------------------------------------
# repetition, reversal, padding

def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis."""
    A = operand(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    nd = builtins.max(len(reps), aval(A).ndim)
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, (1,) * (nd - aval(A).ndim) + aval(A).shape)
    shp = aval(A).shape
    # broadcast each axis d to (reps[d], shp[d]) then merge the pairs
    expanded = [x for r, d in zip(reps, shp) for x in (r, d)]
    out = lax.broadcast_in_dim(A, expanded, tuple(range(1, 2 * nd, 2)))
    return lax.reshape(out, [r * d for r, d in zip(reps, shp)])


def repeat(a, repeats, axis=None, total_repeat_length=None):
    """Repeat each element ``repeats`` times (an int, or one count per
    element along ``axis``, which must be concrete)."""
    a = operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonicalize_axis(axis, aval(a).ndim, "repeat")
    shp = aval(a).shape
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        expanded = shp[:axis + 1] + (r,) + shp[axis + 1:]
        dims = tuple(i if i <= axis else i + 1 for i in range(len(shp)))
        out = lax.broadcast_in_dim(a, expanded, dims)
        return lax.reshape(out, shp[:axis] + (shp[axis] * r,) + shp[axis + 1:])
    counts = np.asarray(repeats)
    idx = np.repeat(np.arange(shp[axis]), np.broadcast_to(counts, (shp[axis],)))
    from trax.numpy.indexing import take
    return take(a, idx, axis=axis)


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None)."""
    m = operand(m)
    axes = canonicalize_axes(axis, aval(m).ndim, "flip")
    return lax.rev(m, axes) if axes else m


def fliplr(m):
    """Reverse along axis 1."""
    return flip(m, 1)


def flipud(m):
    """Reverse along axis 0."""
    return flip(m, 0)


def _pad_widths(pad_width, nd):
    pw = np.asarray(pad_width, dtype=np.int64)
    try:
        pw = np.broadcast_to(pw, (nd, 2))
    except ValueError:
        pw = None
    if pw is None or (pw < 0).any():
        raise type_error(f"pad: pad_width {pad_width!r} does not give non-negative "
                         f"(before, after) widths for {nd} axes")
    return [(int(lo), int(hi)) for lo, hi in pw]


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad ``array`` with ``constant_values`` (mode 'constant'), or by
    repeating its border ('edge') or mirroring ('reflect', 'symmetric')."""
    array = operand(array)
    nd = aval(array).ndim
    widths = _pad_widths(pad_width, nd)
    if mode == "constant":
        cv = operand(constant_values)
        if aval(cv).shape != ():
            if aval(cv).size != 1:
                raise NotImplementedError("pad: only a scalar constant_values is supported")
            cv = reshape(cv, ())
        cv = convert(cv, aval(array).dtype)
        return lax.pad(array, cv, [(lo, hi, 0) for lo, hi in widths])
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported")
    from trax.numpy.indexing import take
    for ax, (lo, hi) in enumerate(widths):
        n = aval(array).shape[ax]
        idx = _pad_index(mode, n, lo, hi)
        if idx is not None:
            array = take(array, idx, axis=ax)
    return array


def _pad_index(mode, n, lo, hi):
    """Source positions of the padded axis, for the non-constant modes."""
    if lo == hi == 0:
        return None
    pos = np.arange(-lo, n + hi)
    if mode == "edge":
        return np.clip(pos, 0, n - 1)
    if mode == "wrap":
        return pos % n
    if mode == "reflect":
        period = 2 * (n - 1) if n > 1 else 1
        pos = pos % period
        return np.where(pos >= n, period - pos, pos)
    period = 2 * n
    pos = pos % period
    return np.where(pos >= n, period - 1 - pos, pos)


def roll(a, shift, axis=None):
    """Shift elements cyclically along ``axis`` (of the flat array if None)."""
    a = operand(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), aval(a).shape)
    shifts = np.broadcast_to(np.asarray(shift), np.shape(axis)).tolist() \
        if not isinstance(axis, (int, np.integer)) else [shift]
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    for s, ax in zip(shifts, axes):
        ax = canonicalize_axis(ax, aval(a).ndim, "roll")
        n = aval(a).shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            a = concatenate([_slice_axis(a, n - s, n, ax), _slice_axis(a, 0, n - s, ax)], ax)
    return a


def diff(a, n=1, axis=-1):
    """The ``n``-th discrete difference along ``axis``."""
    from trax.numpy.ufuncs import not_equal, subtract
    a = operand(a)
    axis = canonicalize_axis(axis, aval(a).ndim, "diff")
    op = not_equal if aval(a).dtype == np.bool_ else subtract
    for _ in range(n):
        n_axis = aval(a).shape[axis]
        a = op(_slice_axis(a, 1, n_axis, axis),
               _slice_axis(a, 0, builtins.max(n_axis - 1, 0), axis))
    return a


def rot90(m, k=1, axes=(0, 1)):
    """Rotate ``m`` by 90 degrees ``k`` times in the plane of ``axes``."""
    m = operand(m)
    a0, a1 = (canonicalize_axis(ax, aval(m).ndim, "rot90") for ax in axes)
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, (a0, a1))
    if k == 1:
        return swapaxes(flip(m, a1), a0, a1)
    return flip(swapaxes(m, a0, a1), a1)
