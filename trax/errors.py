"""The errors trax raises, each naming what went wrong and how to fix it."""
import os
import sys

_TRAX_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frame():
    """The innermost stack frame outside the trax package (the user's line)."""
    f = sys._getframe(1)
    while f is not None:
        inside = _inside.get(f.f_code)
        if inside is None:
            if len(_inside) > 8192:
                _inside.clear()
            fname = f.f_code.co_filename
            inside = _inside[f.f_code] = (fname.startswith(_TRAX_DIR) or
                                          fname.startswith("<frozen") or "contextlib" in fname)
        if not inside:
            return f
        f = f.f_back
    return None


_inside = {}    # code object -> is it trax's own (or contextlib's)? (every traced op asks)


def user_source_line():
    """``'file.py:12 (fn)'`` for the user's current line, or ``''``."""
    f = user_frame()
    if f is None:
        return ""
    return f"{f.f_code.co_filename}:{f.f_lineno} ({f.f_code.co_name})"


class TraxTypeError(TypeError):
    """Shapes or dtypes that a primitive or API does not accept."""


class ConcretizationTypeError(TypeError):
    """A traced (abstract) value was used where a concrete one is needed."""

    def __init__(self, what, aval, hint):
        where = user_source_line()
        msg = (f"{what}: the value is a traced array {aval.str_short()} with no "
               f"concrete value during this transformation"
               + (f", at {where}" if where else "") + f". {hint}")
        super().__init__(msg)


class TracerBoolConversionError(ConcretizationTypeError):
    """``if x:`` / ``bool(x)`` on a traced value."""


class TracerIntegerConversionError(ConcretizationTypeError):
    """``int(x)`` / ``range(x)`` / indexing with a traced value."""


class NonConcreteBooleanIndexError(IndexError):
    """Boolean-mask indexing of a traced value (its output shape is unknown)."""


class UnexpectedTracerError(RuntimeError):
    """A tracer escaped the transformation that created it."""


def type_error(msg):
    """A TraxTypeError whose message ends with the user's source line."""
    where = user_source_line()
    return TraxTypeError(msg + (f" (at {where})" if where else ""))
