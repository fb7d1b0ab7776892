"""Structured control flow: primitives holding closed sub-jaxprs (cond,
while, scan), so value-dependent branches and loops can be traced,
transformed and compiled. Each lives in its own module."""
from trax.lax.control_flow.conditionals import cond, cond_p, switch  # noqa: F401
from trax.lax.control_flow.loops import fori_loop, while_loop, while_p  # noqa: F401
from trax.lax.control_flow.scan import map, scan, scan_p  # noqa: F401
