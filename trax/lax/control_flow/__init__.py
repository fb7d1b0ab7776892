"""Structured control flow: primitives holding closed sub-jaxprs (cond,
while, scan), so value-dependent branches and loops can be traced,
transformed and compiled. Each lives in its own module."""
from trax.lax.control_flow.conditionals import cond, cond_p, switch  # noqa: F401
