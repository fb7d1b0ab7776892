"""trax.lax: the primitives every other part of trax is written in.

Exports each module's public functions and its primitives (``sin`` and
``sin_p``), and nothing the modules merely import.
"""
import types as _types

from trax.core import Primitive as _Primitive
from trax.lax import (elementwise as _elementwise, indexing as _indexing,
                      linalg as _linalg, reductions as _reductions,
                      shape_ops as _shape_ops, sorting as _sorting)


def _export(module):
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, _Primitive) or (
                isinstance(obj, _types.FunctionType) and obj.__module__ == module.__name__):
            globals()[name] = obj


for _m in (_elementwise, _shape_ops, _reductions, _indexing, _linalg, _sorting):
    _export(_m)

from trax.lax.control_flow import (cond, cond_p, fori_loop, map, scan, scan_p,  # noqa: E402,F401
                                   switch, while_loop, while_p)
