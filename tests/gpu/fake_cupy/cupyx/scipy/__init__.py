"""Part of the CPU stand-in for CuPy (see ../../cupy/__init__.py)."""
