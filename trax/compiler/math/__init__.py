"""Vectorizable math: vmath emits exp/log/sin/... as plain IR; mathlib compiles
them once per machine into a library that modules call."""
