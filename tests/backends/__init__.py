"""Tests of the kernel tables (tinygrad_edu.backends): C against NumPy against PyTorch."""
