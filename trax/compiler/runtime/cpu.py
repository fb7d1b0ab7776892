"""What a CPU's feature list (as LLVM spells it) implies, without LLVM."""


def vector_bits(feats) -> int:
    """Width in bits of the widest float vector registers of a CPU with the
    features ``feats`` (``+avx2``, ``-avx512f``, ...): 512 with AVX-512F,
    256 with AVX, else 128."""
    if "+avx512f" in feats:
        return 512
    if "+avx" in feats:
        return 256
    return 128
