"""Build hook for the C kernels; all metadata lives in pyproject.toml.

cffi's setuptools integration reads ``cffi_modules``: it runs
tinygrad_edu/backends/_build.py, takes its ``ffibuilder`` and adds the extension
``tinygrad_edu.backends._tge_c`` (csrc/*.c + the generated cffi wrapper) to the build,
so ``pip install .`` and ``pip install -e .`` compile it.  After editing csrc/ in a
checkout, ``python -m tinygrad_edu.backends._build`` rebuilds it in place.
"""
from setuptools import setup

setup(cffi_modules=["tinygrad_edu/backends/_build.py:ffibuilder"])
