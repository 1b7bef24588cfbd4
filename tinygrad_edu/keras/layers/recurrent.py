"""Recurrent layers: LSTM, GRU, SimpleRNN and the Bidirectional wrapper (Keras's weights).

Speed: when nothing calls for a step-by-step loop, ``LSTM`` runs ops.rnn.LSTMInputLayer: one
kernel call for the whole sequence each way (csrc/lstm_input_impl.inc or its NumPy twin),
which also does the input projection, inside every step's product [h, x_t] @ [recurrent_kernel;
kernel], so it takes Keras's weights as they are. ``SimpleRNN`` runs its ``nn`` twin's code,
``nn.rnn.rnn_layer``: kernel (F, G*U) is W_ih^T, recurrent_kernel (U, G*U) is W_hh^T, and the
one bias is b_ih (b_hh = None); the gate order i, f, c, o is PyTorch's i, f, g, o.

The step loop written here (:meth:`_RNN._loop`) runs instead when the layer must do
something per step that the fused kernel does not: a mask with padded steps
(``Embedding(mask_zero=True)``), ``recurrent_dropout`` in training, or activations other
than tanh / sigmoid. ``GRU`` (reset_after=True, Keras's default) runs ``nn.rnn.gru_layer``,
nn.GRU's path, with its gate blocks reordered; nn.GRU has no fused kernel yet, so that path is
a step loop of tensor ops too (it picks up a fused kernel when nn.GRU gets one).

Masked steps keep the previous state (h, c) and, with ``return_sequences``, output it
again, as Keras. ``go_backwards=True`` reads the sequence from the end and, like Keras,
returns the output sequence in that reversed order.
"""
from __future__ import annotations

import numpy as np

from ... import rng
from ...nn import functional as F
from ...nn import rnn as nn_rnn
from ...ops.rnn import LSTMInputLayer, split_last_cell
from ...tensor import Tensor, cat, stack
from .. import activations
from .base import Layer, _as_float, _positive_int

__all__ = ["SimpleRNN", "LSTM", "GRU", "Bidirectional"]


def _reverse_time(x: Tensor, axis: int) -> Tensor:
    """x with its time axis (``axis``) read backwards (a differentiable gather)."""
    index = [slice(None)] * x.ndim
    index[axis] = np.arange(x.shape[axis] - 1, -1, -1)
    return x[tuple(index)]


class _RNN(Layer):
    """Shared by SimpleRNN, LSTM and GRU: weights, shapes, masks and the step loop."""

    gates = 1           # gate blocks per weight matrix
    n_states = 1        # h (and c for the LSTM)
    _call_takes_mask = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.units = _positive_int(units, "units", cls)
        if stateful:
            raise NotImplementedError(f"{cls}: stateful=True is not supported")
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{cls}: {what} must be in [0, 1), got {rate}")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)

    # -- weights and shapes
    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f'Input 0 of layer "{self.name}" ({type(self).__name__}) is incompatible with the layer: '
                             f'expected ndim=3 (batch, timesteps, features) with known features, found shape '
                             f'{input_shape}')
        g = self.gates * self.units
        self.add_weight("kernel", (input_shape[-1], g), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, g), self.recurrent_initializer)
        if self.use_bias:
            self._build_bias()

    def _build_bias(self):
        self.add_weight("bias", (self.gates * self.units,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self.units) if self.return_sequences else (n, self.units)
        if self.return_state:
            return [out] + [(n, self.units)] * self.n_states
        return out

    def _check_input_shape(self, shape):
        if len(shape) != 3 or shape[-1] != self.input_shape[-1]:
            raise self._incompatible(self.input_shape, tuple(shape))

    def compute_mask(self, inputs, mask=None):
        return mask if (self.return_sequences and not self.return_state) else None

    supports_masking = True

    # -- calling
    def forward(self, x, training=False, mask=None, initial_state=None):
        """x: (N, T, F) -> see the class docstring; mask: (N, T) bool (True = a real step);
        initial_state: a list of (N, units) tensors (h, or h and c)."""
        x = self._prepare(x)
        return self.call(x, training=bool(training), mask=mask, initial_state=initial_state)

    def _initial_states(self, n, initial_state):
        if initial_state is None:
            return [Tensor.zeros(n, self.units) for _ in range(self.n_states)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self.n_states:
            raise ValueError(f'layer "{self.name}": initial_state needs {self.n_states} tensor(s), got {len(states)}')
        out = []
        for s in states:
            s = _as_float(s if isinstance(s, Tensor) else Tensor(np.asarray(s, dtype=np.float32)))
            if s.shape != (n, self.units):
                raise ValueError(f'layer "{self.name}": an initial state has shape {s.shape}, expected {(n, self.units)}')
            out.append(s)
        return out

    def _dropout_mask(self, shape, rate):
        keep = rng.generator().random(shape) >= rate
        return Tensor((keep / (1.0 - rate)).astype(np.float32))

    def call(self, x, training=False, mask=None, initial_state=None):
        x = _as_float(x)
        n, steps, features = x.shape
        if steps == 0:
            raise ValueError(f'layer "{self.name}" ({type(self).__name__}): the input {x.shape} has no time steps')
        states = self._initial_states(n, initial_state)
        if training and self.dropout > 0:
            x = x * self._dropout_mask((n, 1, features), self.dropout)
        if mask is not None:
            mask = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
            if mask.shape != (n, steps):
                raise ValueError(f'layer "{self.name}": mask of shape {mask.shape} for input {x.shape}')
            if mask.all():
                mask = None
        h_mask = None
        if training and self.recurrent_dropout > 0:
            h_mask = self._dropout_mask((n, self.units), self.recurrent_dropout)
        x_tm = x.transpose(0, 1)                                              # (T, N, F)
        result = None
        if mask is None and h_mask is None:
            result = self._fast(x_tm, states)
        if result is None:
            result = self._loop(x_tm, states, mask, h_mask)
        out_tm, finals = result                                               # out in reading order
        if self.return_sequences:
            output = out_tm.transpose(0, 1)                                   # (N, T, U)
        else:
            output = finals[0]
        if self.return_state:
            return [output] + list(finals)
        return output

    def _fast(self, x_tm, states):
        """(out (T, N, U) in reading order, [final states]) from nn's path, or None."""
        return None

    def _input_projection(self, x_tm):
        return F.linear(x_tm, self.kernel.T, self.bias if self.use_bias else None)

    def _loop(self, x_tm, states, mask, h_mask):
        """The step-by-step recurrence with tensor ops; honours masks and recurrent dropout."""
        steps = x_tm.shape[0]
        xw = self._input_projection(x_tm)                                     # (T, N, G*U)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        for t in order:
            h_in = states[0] * h_mask if h_mask is not None else states[0]
            new = self._step(xw[t], [h_in] + states[1:])
            if mask is not None:
                keep = Tensor(mask[:, t:t + 1].astype(np.float32))             # (N, 1)
                new = [keep * a + (1.0 - keep) * b for a, b in zip(new, states)]
            states = new
            outputs.append(states[0])
        return stack(outputs, axis=0), states

    def _step(self, xw_t, states):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self):
        return (f"name={self.name!r}, units={self.units}, return_sequences={self.return_sequences}, "
                f"return_state={self.return_state}, go_backwards={self.go_backwards}")


class SimpleRNN(_RNN):
    """h = activation(x_t @ kernel + h @ recurrent_kernel + bias).

    SimpleRNN(units, activation="tanh", use_bias=True, dropout=0.0, recurrent_dropout=0.0,
              return_sequences=False, return_state=False, go_backwards=False)
    x: (N, T, F) -> (N, U) or (N, T, U). Weights kernel (F, U), recurrent_kernel (U, U),
    bias (U,). Runs ``nn.rnn.rnn_layer`` (nn.RNN's path) for tanh / relu.
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 **kwargs):
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         stateful, unroll, **kwargs)

    def _fast(self, x_tm, states):
        name = {activations.tanh: "tanh", activations.relu: "relu"}.get(self.activation)
        if name is None:
            return None
        out, h = nn_rnn.rnn_layer(x_tm, states[0], self.kernel.T, self.recurrent_kernel.T,
                                  self.bias if self.use_bias else None, None, name, reverse=self.go_backwards)
        return (_reverse_time(out, 0) if self.go_backwards else out), [h]

    def _step(self, xw_t, states):
        return [self.activation(xw_t + states[0] @ self.recurrent_kernel)]


class LSTM(_RNN):
    """Long short-term memory with Keras's weights, gate order and initialisation.

    LSTM(units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
         kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
         bias_initializer="zeros", unit_forget_bias=True, dropout=0.0,
         recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False)
    x: (N, T, F) float32 -> (N, units) (the last step's h) or, with return_sequences,
    (N, T, units); with return_state, [output, h, c]. Weights: kernel (F, 4U),
    recurrent_kernel (U, 4U), bias (4U,), gate blocks i, f, c, o; 4 * (U * (F + U) + U)
    parameters (LSTM(100) on 10 features: 44,400). unit_forget_bias sets the f block to 1.

    Per step (h, c start at zero unless initial_state=[h0, c0]):
        z = x_t @ kernel + h @ recurrent_kernel + bias             (N, 4U)
        i = rec(z[:, :U])   f = rec(z[:, U:2U])   g = act(z[:, 2U:3U])   o = rec(z[:, 3U:])
        c = f * c + i * g;   h = o * act(c)
    Runs on the fused kernel with the input projection inside (ops.rnn.LSTMInputLayer; see the
    module docstring for when it cannot).
    """

    gates, n_states = 4, 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         stateful, unroll, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _build_bias(self):
        bias = self.add_weight("bias", (4 * self.units,), self.bias_initializer)
        if self.unit_forget_bias:
            values = bias.numpy().copy()
            values[self.units:2 * self.units] = 1.0
            bias.data = values

    def _fast(self, x_tm, states):
        if self.activation is not activations.tanh or self.recurrent_activation is not activations.sigmoid:
            return None
        # one kernel call each way, the input projection inside the steps' products
        bias = (self.bias,) if self.use_bias else ()
        hs = LSTMInputLayer.apply(x_tm, self.kernel, self.recurrent_kernel, states[0], states[1], *bias,
                                  reverse=self.go_backwards)                     # (T + 1, N, U)
        out, h, c = split_last_cell(hs, self.go_backwards)
        return (_reverse_time(out, 0) if self.go_backwards else out), [h, c]

    def _step(self, xw_t, states):
        h, c = states
        u, act, rec = self.units, self.activation, self.recurrent_activation
        z = xw_t + h @ self.recurrent_kernel                                  # (N, 4U)
        i, f, g, o = rec(z[:, :u]), rec(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), rec(z[:, 3 * u:])
        c = f * c + i * g
        return [o * act(c), c]


class GRU(_RNN):
    """Gated recurrent unit, Keras's version (gates z, r, h; ``reset_after=True`` by default).

    GRU(units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
        reset_after=True, dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
        return_state=False, go_backwards=False)
    x: (N, T, F) -> (N, U) or (N, T, U). Weights kernel (F, 3U), recurrent_kernel (U, 3U),
    bias (2, 3U) with reset_after (input and recurrent biases), else (3U,).
    Per step, with xz, xr, xh = x_t @ kernel + b_in and hz, hr, hh = h @ recurrent_kernel + b_rec:
        z = rec(xz + hz);  r = rec(xr + hr);  n = act(xh + r * hh)   (reset_after)
        h = z * h + (1 - z) * n
    (reset_after=False: n = act(xh + (r * h) @ recurrent_kernel[:, 2U:]).) PyTorch's
    nn.GRU computes the same with its gates in the order r, z, n: with reset_after, tanh and
    sigmoid this layer runs nn.GRU's ``gru_layer`` on the reordered weights.
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         stateful, unroll, **kwargs)
        self.reset_after = bool(reset_after)

    def _build_bias(self):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.add_weight("bias", shape, self.bias_initializer)

    def _input_projection(self, x_tm):
        bias = None
        if self.use_bias:
            bias = self.bias[0] if self.reset_after else self.bias
        return F.linear(x_tm, self.kernel.T, bias)

    def _fast(self, x_tm, states):
        """nn.GRU's layer function (``nn.rnn.gru_layer``), with the gate blocks reordered from
        Keras's z, r, h to PyTorch's r, z, n (a slice-and-join of the weights, no data loop)."""
        gru_layer = getattr(nn_rnn, "gru_layer", None)
        if (gru_layer is None or not self.reset_after or self.activation is not activations.tanh
                or self.recurrent_activation is not activations.sigmoid):
            return None
        u = self.units

        def torch_order(w):                       # (..., 3U) blocks z, r, h -> r, z, h
            return cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], axis=-1)

        b_ih = b_hh = None
        if self.use_bias:
            b_ih, b_hh = torch_order(self.bias[0]), torch_order(self.bias[1])
        out, h = gru_layer(x_tm, states[0], torch_order(self.kernel).T, torch_order(self.recurrent_kernel).T,
                           b_ih, b_hh, reverse=self.go_backwards)
        return (_reverse_time(out, 0) if self.go_backwards else out), [h]

    def _step(self, xw_t, states):
        h = states[0]
        u, act, rec = self.units, self.activation, self.recurrent_activation
        rk = self.recurrent_kernel
        if self.reset_after:
            hw = h @ rk                                                       # (N, 3U)
            if self.use_bias:
                hw = hw + self.bias[1]
            z = rec(xw_t[:, :u] + hw[:, :u])
            r = rec(xw_t[:, u:2 * u] + hw[:, u:2 * u])
            n = act(xw_t[:, 2 * u:] + r * hw[:, 2 * u:])
        else:
            hw = h @ rk[:, :2 * u]
            z = rec(xw_t[:, :u] + hw[:, :u])
            r = rec(xw_t[:, u:2 * u] + hw[:, u:])
            n = act(xw_t[:, 2 * u:] + (r * h) @ rk[:, 2 * u:])
        return [z * h + (1.0 - z) * n]


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, and merge the two.

    Bidirectional(layer, merge_mode="concat", backward_layer=None)
        layer: an LSTM / GRU / SimpleRNN (it becomes "forward_<name>"); the backward copy has
        the same configuration with go_backwards flipped ("backward_<name>"), fresh weights.
        merge_mode: "concat" (features joined: 2U), "sum", "mul", "ave", or None (a list
        [forward, backward]). With return_sequences the backward outputs are put back in
        time order before merging. With return_state: [merged, forward states..., backward states...].
    x: (N, T, F) -> (N, 2U) for LSTM(U) with "concat". Masks go to both directions.
    """

    _call_takes_mask = True
    supports_masking = True

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        if isinstance(layer, dict):
            layer = deserialize(layer)
        if isinstance(backward_layer, dict):
            backward_layer = deserialize(backward_layer)
        if not isinstance(layer, _RNN):
            raise TypeError(f"Bidirectional: layer must be an LSTM, GRU or SimpleRNN, got {type(layer).__name__}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"Bidirectional: merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}")
        super().__init__(**kwargs)
        if backward_layer is None:
            config = layer.get_config()
            base = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
            config.update(go_backwards=not layer.go_backwards, name="backward_" + base)
            backward_layer = type(layer).from_config(config)
        elif backward_layer.return_sequences != layer.return_sequences:
            raise ValueError("Bidirectional: the forward and backward layers must agree on return_sequences")
        if not layer.name.startswith("forward_"):
            layer.name = "forward_" + layer.name
        self.merge_mode = merge_mode
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def get_config(self):
        return {"layer": {"class_name": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()},
                "merge_mode": self.merge_mode, "name": self.name}

    def build(self, input_shape):
        self.forward_layer.build_for(input_shape)
        self.backward_layer.build_for(input_shape)

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], shape[1:]
        if self.merge_mode == "concat":
            merged = shape[:-1] + (2 * shape[-1],)
        elif self.merge_mode is None:
            merged = [shape, shape]
        else:
            merged = shape
        if self.return_state:
            return ([merged] if self.merge_mode else merged) + states * 2
        return merged

    def _check_input_shape(self, shape):
        self.forward_layer._check_input_shape(shape)

    def compute_mask(self, inputs, mask=None):
        return mask if (self.return_sequences and not self.return_state and self.merge_mode) else None

    def forward(self, x, training=False, mask=None, initial_state=None):
        x = self._prepare(x)
        return self.call(x, training=bool(training), mask=mask, initial_state=initial_state)

    def call(self, x, training=False, mask=None, initial_state=None):
        init_f = init_b = None
        if initial_state is not None:
            half = len(initial_state) // 2
            init_f, init_b = initial_state[:half], initial_state[half:]
        fwd = self.forward_layer.call(x, training, mask, init_f)
        bwd = self.backward_layer.call(x, training, mask, init_b)
        states = []
        if self.return_state:
            fwd, states = fwd[0], fwd[1:] + bwd[1:]
            bwd = bwd[0]
        if self.return_sequences:
            bwd = _reverse_time(bwd, 1)
        if self.merge_mode == "concat":
            merged = cat([fwd, bwd], axis=-1)
        elif self.merge_mode == "sum":
            merged = fwd + bwd
        elif self.merge_mode == "mul":
            merged = fwd * bwd
        elif self.merge_mode == "ave":
            merged = (fwd + bwd) * 0.5
        else:
            merged = [fwd, bwd]
        if self.return_state:
            return ([merged] if self.merge_mode else merged) + states
        return merged


def deserialize(config):
    """A layer from ``{"class_name": ..., "config": {...}}`` (the layers of this package)."""
    from . import get_layer_class

    return get_layer_class(config["class_name"]).from_config(dict(config["config"]))
