"""Running compiled code: the LLVM engine, our object loader and the host
description, the external symbol table, the caches, the call path (executable,
the native dispatcher, object layouts) and the BLAS."""
