"""The differentiable operations (``Function`` subclasses), one module per family.

* ``elementwise`` – arithmetic, activations, casts (with broadcasting-aware backward)
* ``reduce``      – sum, mean, max/min, var, softmax, log_softmax
* ``movement``    – reshape, permute, expand, indexing, pad, cat, stack
* ``matmul``      – the matrix product (C kernel)
* ``conv``        – conv2d forward and both backward passes (C kernels)
* ``pool``        – max and average pooling (C kernels)
* ``nn``          – fused layer ops: linear, embedding, layer norm, dropout and the losses
"""
