"""tinygrad_edu.nn.functional: the stateless building blocks of layers and losses.

Names, arguments and defaults follow ``torch.nn.functional``. Every function checks its inputs
first and raises ValueError/TypeError naming the shapes and dtypes involved, so no kernel ever
sees a bad shape. The functions live in one module per family:

* ``activation`` – relu, leaky_relu, gelu, silu, softplus, elu, sigmoid, tanh, softmax, log_softmax
* ``conv``       – linear, conv1d, conv2d, conv_transpose2d, pooling (1-D and 2-D), pad
* ``layers``     – dropout, dropout2d, embedding, one_hot, layer_norm, batch_norm, attention
  (scaled_dot_product_attention; causal_self_attention of a packed qkv, GPT's fused kernel)
* ``loss``       – cross_entropy, nll_loss, binary cross-entropies, mse_loss, l1_loss
"""
from .activation import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh
from .conv import (adaptive_avg_pool2d, avg_pool1d, avg_pool2d, conv1d, conv2d, conv_transpose2d, linear,
                   max_pool1d, max_pool2d, pad)
from .layers import (batch_norm, causal_self_attention, dropout, dropout2d, embedding, layer_norm, one_hot,
                     scaled_dot_product_attention)
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss,
                   mse_loss, nll_loss)

__all__ = [
    "relu", "leaky_relu", "gelu", "silu", "softplus", "elu", "max_pool1d", "avg_pool1d", "sigmoid", "tanh", "softmax", "log_softmax",
    "linear", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "pad", "dropout", "dropout2d", "embedding", "one_hot", "layer_norm",
    "batch_norm", "scaled_dot_product_attention", "causal_self_attention", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
]
