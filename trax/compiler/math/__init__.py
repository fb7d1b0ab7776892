"""Vectorizable math: functions.py emits exp/log/sin/... as plain IR from the
constants that constants.py derives; outline.py packages them as functions of
a module or of the math library, which mathlib.py compiles once per machine."""
