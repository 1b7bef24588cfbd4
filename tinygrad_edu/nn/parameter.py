"""Parameter: a Tensor that a Module registers as trainable."""
import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that modules collect in ``parameters()``.

    Parameter(data, requires_grad=True): data is a Tensor or array (float32/float64); the
    array is shared with a Tensor argument, not copied.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        array = data.data if isinstance(data, Tensor) else Tensor(data).data
        self._set_array(array)
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
