"""Supported dtypes, type promotion and weak typing of Python scalars.

trax follows NumPy 2's promotion rules (NEP 50), which agree with JAX's
"weak type" idea: a Python scalar adapts to the dtype of the array it meets,
so ``x_f32 * 2.0`` stays float32. Unlike JAX (with x64 disabled), 64-bit types
are first-class: ``trax.numpy.array([1.0])`` is float64, as in NumPy.
"""
import numpy as np

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

SUPPORTED = frozenset(np.dtype(d) for d in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64"))

_SHORT = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8",
          "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8",
          "uint16": "u16", "uint32": "u32", "uint64": "u64", "bool": "bool"}

# A weak (Python-scalar) value of each kind, for np.result_type's NEP 50 rules.
_WEAK_STANDIN = {"b": False, "i": 0, "u": 0, "f": 0.0}


def short_name(dtype):
    """The jaxpr printer's name for a dtype, e.g. ``f32``."""
    name = _SHORT_BY_DTYPE.get(dtype)
    return name if name is not None else _SHORT[np.dtype(dtype).name]


_SHORT_BY_DTYPE = {np.dtype(k): v for k, v in _SHORT.items()}   # dtype.name is slow


def canonicalize(dtype):
    """Check that ``dtype`` is supported and return it as an np.dtype (in
    native byte order: big-endian data is converted where it enters)."""
    if isinstance(dtype, np.dtype) and dtype in SUPPORTED:
        return dtype
    dt = np.dtype(dtype)
    if not dt.isnative:
        dt = dt.newbyteorder("=")
    if dt not in SUPPORTED:
        raise TypeError(f"trax does not support dtype {dt}; supported: "
                        f"{sorted(d.name for d in SUPPORTED)}")
    return dt


def python_scalar_dtype(x):
    """The dtype trax gives a Python scalar (NumPy's defaults)."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    if isinstance(x, float):
        return float64
    raise TypeError(f"unsupported Python scalar {x!r} of type {type(x).__name__}")


def result_type(*avals):
    """Promote abstract values (objects with .dtype and .weak_type).

    Returns ``(dtype, weak_type)``: strong dtypes promote as in NumPy; weak
    ones only decide the kind (bool < int < float) when they are of a higher
    kind than every strong one. The result is weak only if every input is.
    """
    key = tuple((a.dtype, a.weak_type) for a in avals)
    out = _result_types.get(key)
    if out is None:
        out = _promote(key)
        if len(_result_types) < 4096:
            _result_types[key] = out
    return out


_result_types = {}      # ((dtype, weak), ...) -> (dtype, weak): np.result_type is slow


def _promote(dtypes_and_weak):
    strong = [d for d, w in dtypes_and_weak if not w]
    weak = [d for d, w in dtypes_and_weak if w]
    if not strong:
        return np.result_type(*weak), True
    standins = [_WEAK_STANDIN[d.kind] for d in weak]
    return np.result_type(*strong, *standins), False


def is_float(dtype):
    return np.dtype(dtype).kind == "f"


def is_int(dtype):
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype):
    return np.dtype(dtype) == bool_


def finfo_or_iinfo(dtype):
    dt = np.dtype(dtype)
    return np.finfo(dt) if dt.kind == "f" else np.iinfo(dt)
