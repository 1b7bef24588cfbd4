"""Which process of a data-parallel job this is: the one piece of state that
:mod:`tinygrad_edu.distributed` keeps (its process group, None until
``init_process_group()``), held at the bottom of the package so that the data layer's
``DistributedSampler`` can read this process's rank and the world size without importing
the distributed package, which sits above it (it wraps nn modules and Keras models).

Only :mod:`tinygrad_edu.distributed.process_group` writes ``group``; anything may read it.
``group`` has ``rank`` (0 .. size - 1) and ``size`` (how many processes) attributes.
"""
from __future__ import annotations

group = None  # the process group, or None when none is initialised

