"""Field offsets of NumPy's ndarray object (``PyArrayObject_fields``) on
64-bit CPython, read directly by compiled entries and the native dispatcher.

Users of these offsets probe them at import (see
:func:`trax.compiler.runtime.executable._py_entry_works` and
:func:`trax.compiler.runtime.dispatch.supported`) and fall back when they differ.
"""
DATA = 16
NDIM = 24
DIMS = 32
DESCR = 56
FLAGS = 64
