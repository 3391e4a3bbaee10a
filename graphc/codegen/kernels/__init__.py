"""Kernel emitters shared by several ops (elementwise loops, GEMM, ...)."""
