"""CPython and NumPy object layouts read directly by native code, and the one
probe that checks them.

The ``_py`` entry of compiled code (executable.py) and the native dispatcher
(dispatch.py) read fields of ndarrays, floats and NumPy scalars at fixed
offsets, and the dispatcher calls NumPy's C API. Every offset lives here;
:data:`ARRAYS_OK` and :data:`SCALAR_TYPES` say, from a probe at import,
which of them this process's NumPy and CPython really use. Users fall back
to slower paths where the probe failed, never read a wrong field.
"""
import ctypes

import numpy as np

# PyArrayObject_fields on 64-bit CPython
DATA = 16
NDIM = 24
DIMS = 32
DESCR = 56
FLAGS = 64
C_CONTIGUOUS_ALIGNED = 0x1 | 0x100          # NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED
SCALAR_VALUE = 16          # ob_fval of a Python float, obval of a NumPy scalar
METH_FASTCALL = 0x80       # PyMethodDef flag
PYARRAY_NEW_FROM_DESCR = 94                 # slot of PyArray_NewFromDescr in NumPy's C API

# Scalar types whose value the dispatcher reads: type -> (ctypes type, dtype of the value)
_SCALARS = {float: (ctypes.c_double, np.float64), np.float64: (ctypes.c_double, np.float64),
            np.float32: (ctypes.c_float, np.float32), np.int32: (ctypes.c_int32, np.int32),
            np.int64: (ctypes.c_int64, np.int64), np.bool_: (ctypes.c_uint8, np.bool_)}


def _read(obj, ctype, offset):
    return ctype.from_address(id(obj) + offset).value


def _arrays_ok():
    """Do ndarrays hold data, ndim, dims, descr and flags at those offsets?"""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    a = np.zeros((3, 4), np.float32)
    for x in (a, a[:, ::2], np.zeros((), np.int8), np.zeros(0)):
        dims = ctypes.cast(_read(x, ctypes.c_void_p, DIMS), ctypes.POINTER(ctypes.c_int64))
        if (_read(x, ctypes.c_void_p, DATA) != x.ctypes.data
                or _read(x, ctypes.c_int32, NDIM) != x.ndim
                or tuple(dims[i] for i in range(x.ndim)) != x.shape
                or _read(x, ctypes.c_void_p, DESCR) != id(x.dtype)
                or _read(x, ctypes.c_int32, FLAGS) != x.flags.num):
            return False
    return True


def _scalar_types():
    """{type: dtype} of the scalars whose value sits at SCALAR_VALUE."""
    ok = {}
    for t, (ct, dt) in _SCALARS.items():
        if all(_read(t(v), ct, SCALAR_VALUE) == t(v) for v in (0, 1, 3)):
            ok[t] = dt
    ok[int] = np.int64          # through PyLong_AsLongLongAndOverflow
    ok[bool] = np.bool_         # by identity with True / False
    return ok


def numpy_api():
    """NumPy's C API table (``PyArray_API``) as a pointer array."""
    try:
        from numpy._core import _multiarray_umath as m
    except ImportError:                                   # NumPy 1.x
        from numpy.core import _multiarray_umath as m
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    return ctypes.cast(get(m._ARRAY_API, None), ctypes.POINTER(ctypes.c_void_p))


def _probe():
    try:
        return _arrays_ok(), _scalar_types()
    except Exception:           # an unexpected NumPy/CPython build
        return False, {}


ARRAYS_OK, SCALAR_TYPES = _probe()
