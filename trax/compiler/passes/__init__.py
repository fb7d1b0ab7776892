"""jaxpr -> jaxpr passes run before planning: simplify (inlining, constant
folding, algebraic identities, CSE, DCE) and gemm_update (products folded into
BLAS updates)."""
