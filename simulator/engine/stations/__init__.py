"""Station kernels of the kernel engine: one kind per component kind, reused by every graph."""
