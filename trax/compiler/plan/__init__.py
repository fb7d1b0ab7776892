"""Planning: which values are materialized and which fuse into loops (fusion),
row groups of row-wise kernels (rows), offsets of temporaries in the reused
workspace (workspace)."""
