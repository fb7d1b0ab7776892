"""Lowering: the fusion plan -> LLVM IR. codegen drives it; elemental and scalar
emit one element of fusible primitives; kernels, reductions, linalg and
structural emit the loop nests of the others; loops, irtypes and vectorize are
their building blocks."""
