"""Recurrent layers: RNN (Elman, tanh or relu), LSTM and GRU, with PyTorch's parameters and shapes.

Both are written with ordinary tensor operations, so the autograd engine differentiates them
("backpropagation through time" is just the backward walk over the unrolled loop). One layer,
one direction, over a time-major sequence x (T, N, in):

    xw  = x @ W_ih^T + (b_ih + b_hh)          one matrix product for the whole sequence
    for t in 0 .. T-1:                        (T-1 .. 0 for the reverse direction)
        RNN:   h = tanh(xw[t] + h @ W_hh^T)
        LSTM:  z = xw[t] + h @ W_hh^T          (N, 4H), gates in PyTorch's order i, f, g, o
               i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2H]), sigmoid(z[:, 3H:])
               g = tanh(z[:, 2H:3H])
               c = f * c + i * g
               h = o * tanh(c)
        GRU:   a = xw[t] (with b_ih only),  b = h @ W_hh^T + b_hh      gates r, z, n
               r, u = sigmoid(a[:, :H] + b[:, :H]), sigmoid(a[:, H:2H] + b[:, H:2H])
               n = tanh(a[:, 2H:] + r * b[:, 2H:])
               h = (1 - u) * n + u * h

The loops live in :func:`rnn_layer` and :func:`lstm_layer`, called through the
``_rnn_layer`` / ``_lstm_layer`` methods: a faster implementation (a fused kernel for the whole
sequence) can replace a method and be tested against these reference functions.
"""
from __future__ import annotations

import math

import numpy as np

from ..device import array_module
from ..ops.rnn import GRULayer, LSTMLayer, split_last_cell
from ..tensor import Tensor, cat, stack
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["RNN", "LSTM", "GRU", "rnn_layer", "lstm_layer", "lstm_layer_fused", "gru_layer", "gru_layer_fused"]


# ---------------------------------------------------------------------------- reference loops
def _input_projection(x, w_ih, b_ih, b_hh):
    """x (T, N, in) @ W_ih^T + b_ih + b_hh -> (T, N, G): one matrix product for every step."""
    bias = b_ih
    if b_hh is not None:
        bias = b_hh if bias is None else b_ih + b_hh
    return F.linear(x, w_ih, bias)


def rnn_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False):
    """One Elman RNN layer in one direction.

    x: (T, N, in), h0: (N, H), w_ih: (H, in), w_hh: (H, H), b_ih, b_hh: (H,) or None.
    Returns (out (T, N, H), h_T (N, H)); with reverse=True the sequence is read from the end,
    and out[t] is still the state at position t.
    """
    act = F.tanh if nonlinearity == "tanh" else F.relu
    xw = _input_projection(x, w_ih, b_ih, b_hh)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    h, outs = h0, []
    for t in steps:
        h = act(xw[t] + F.linear(h, w_hh))
        outs.append(h)
    if reverse:
        outs.reverse()
    return stack(outs, axis=0), h


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One LSTM layer in one direction (gate order i, f, g, o, as PyTorch).

    x: (T, N, in), h0, c0: (N, H), w_ih: (4H, in), w_hh: (4H, H), b_ih, b_hh: (4H,) or None.
    Returns (out (T, N, H), h_T (N, H), c_T (N, H)).
    """
    hidden = w_hh.shape[1]
    xw = _input_projection(x, w_ih, b_ih, b_hh)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    h, c, outs = h0, c0, []
    for t in steps:
        z = xw[t] + F.linear(h, w_hh)                       # (N, 4H)
        i = z[:, :hidden].sigmoid()                          # input gate
        f = z[:, hidden : 2 * hidden].sigmoid()              # forget gate
        g = z[:, 2 * hidden : 3 * hidden].tanh()             # candidate cell
        o = z[:, 3 * hidden :].sigmoid()                     # output gate
        c = f * c + i * g
        h = o * c.tanh()
        outs.append(h)
    if reverse:
        outs.reverse()
    return stack(outs, axis=0), h, c


def gru_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One GRU layer in one direction (gate order r, z, n, as PyTorch).

    x: (T, N, in), h0: (N, H), w_ih: (3H, in), w_hh: (3H, H), b_ih, b_hh: (3H,) or None.
    b_hh stays inside the recurrent term: n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)).
    Returns (out (T, N, H), h_T (N, H)).
    """
    hidden = w_hh.shape[1]
    xw = F.linear(x, w_ih, b_ih)                             # (T, N, 3H)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    h, outs = h0, []
    for t in steps:
        a, b = xw[t], F.linear(h, w_hh, b_hh)                # (N, 3H) each
        r = (a[:, :hidden] + b[:, :hidden]).sigmoid()         # reset gate
        u = (a[:, hidden:2 * hidden] + b[:, hidden:2 * hidden]).sigmoid()  # update gate
        n = (a[:, 2 * hidden:] + r * b[:, 2 * hidden:]).tanh()  # candidate state
        h = n + u * (h - n)                                   # = (1 - u) * n + u * h
        outs.append(h)
    if reverse:
        outs.reverse()
    return stack(outs, axis=0), h


def lstm_layer_fused(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """:func:`lstm_layer` with the recurrence in one fused kernel call (ops.rnn.LSTMLayer).

    Same arguments and results; the input projection is the same Linear op, the loop over
    time runs in the kernel table of x's device (C, its NumPy twin, or CuPy) forward and
    backward.  nn.LSTM always uses it; the tests check it against :func:`lstm_layer`.
    """
    xw = _input_projection(x, w_ih, b_ih, b_hh)
    hs = LSTMLayer.apply(xw, h0, c0, w_hh, reverse=reverse)  # (T + 1, N, H): out, then c_T
    return split_last_cell(hs, reverse)


def gru_layer_fused(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """:func:`gru_layer` with the recurrence in one fused kernel call (ops.rnn.GRULayer).

    Same arguments and results; the input projection is one Linear op, the loop over time
    runs in the kernel table of x's device (csrc/gru.c, its NumPy twin, or CuPy through the
    twin). nn.GRU always uses it; the tests check it against :func:`gru_layer`.
    """
    xw = F.linear(x, w_ih, b_ih)
    if b_hh is None:
        out = GRULayer.apply(xw, h0, w_hh, b_hh=array_module(xw.data).zeros(w_hh.shape[0], dtype=xw.dtype), reverse=reverse)
    else:
        out = GRULayer.apply(xw, h0, w_hh, b_hh, reverse=reverse)
    return out, out[0 if reverse else x.shape[0] - 1]


# ---------------------------------------------------------------------------- modules
class _RNNBase(Module):
    """Parameters, argument checks and the layer/direction loop shared by RNN and LSTM."""

    _gates = 1  # gate blocks per weight matrix: 1 for RNN, 4 for LSTM

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        super().__init__()
        name = type(self).__name__
        if input_size <= 0 or hidden_size <= 0 or num_layers <= 0:
            raise ValueError(
                f"{name}: input_size, hidden_size and num_layers must be positive, got "
                f"{input_size}, {hidden_size}, {num_layers}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        directions = 2 if bidirectional else 1
        gate_size = self._gates * hidden_size
        # PyTorch's order: per layer, per direction: weight_ih, weight_hh, bias_ih, bias_hh
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                setattr(self, "weight_ih" + suffix, Parameter(np.empty((gate_size, layer_input), np.float32)))
                setattr(self, "weight_hh" + suffix, Parameter(np.empty((gate_size, hidden_size), np.float32)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(np.empty(gate_size, np.float32)))
                    setattr(self, "bias_hh" + suffix, Parameter(np.empty(gate_size, np.float32)))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer: int, direction: int):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix), get("bias_hh" + suffix)

    def _check_input(self, x):
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
        if x.ndim not in (2, 3):
            layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ValueError(f"{name}: expected input {layout} or unbatched (T, input_size), got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input {x.shape} has {x.shape[-1]} features, expected input_size={self.input_size}")
        if x.dtype != self.weight_ih_l0.dtype:
            raise TypeError(
                f"{name}: input dtype {x.dtype} differs from the parameters' {self.weight_ih_l0.dtype} "
                f"(convert the module with .double()/.float() or the input with .astype())"
            )
        seq_axis = 1 if (self.batch_first and x.ndim == 3) else 0
        if x.shape[seq_axis] == 0:
            raise ValueError(f"{name}: input {x.shape} has an empty sequence")

    def _state(self, state, batch: int, batched: bool, x, what: str):
        """The initial state as (layers * directions, N, H): zeros when not given, else checked."""
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if state is None:
            return Tensor.zeros(*expected, dtype=x.dtype, device=x.device)
        if not isinstance(state, Tensor):
            state = Tensor(state, dtype=x.dtype, device=x.device)
        want = expected if batched else (expected[0], expected[2])
        if state.shape != want:
            raise ValueError(f"{type(self).__name__}: {what} has shape {state.shape}, expected {want} for input {x.shape}")
        if state.dtype != x.dtype:
            raise TypeError(f"{type(self).__name__}: {what} dtype {state.dtype} differs from input dtype {x.dtype}")
        return state if batched else state.unsqueeze(1)

    def _run(self, x, states):
        """x: time-major (T, N, in); states: tuple of (L*D, N, H) tensors (h0, or h0 and c0).

        Returns (output (T, N, D*H), final states as a tuple of (L*D, N, H))."""
        finals = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0.0 and self.training:
                layer_input = F.dropout(layer_input, self.dropout, True)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                result = self._layer(layer_input, [s[index] for s in states], self._weights(layer, direction),
                                     reverse=direction == 1)
                outputs.append(result[0])
                for store, final in zip(finals, result[1:]):
                    store.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, axis=-1)
        return layer_input, tuple(stack(f, axis=0) for f in finals)

    def _prepare(self, x):
        """Check x and bring it to time-major (T, N, in); returns (x, batched)."""
        self._check_input(x)
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, batched

    def _finish(self, out, batched):
        if not batched:
            return out[:, 0]
        return out.transpose(0, 1) if self.batch_first else out

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
        batch_first=False, dropout=0.0, bidirectional=False)
    forward(x, hx=None):
        x: (T, N, input_size), or (N, T, input_size) with batch_first, or unbatched (T, input_size);
        hx: the initial state h0, (num_layers * D, N, hidden_size) (D = 2 if bidirectional else 1),
        zeros by default.
    Returns (output, h_n): output (T, N, D * hidden_size) (batch_first: (N, T, ...)), the last
    layer's state at every step; h_n (num_layers * D, N, hidden_size), the final state of every
    layer (never batch-first). ``dropout`` applies between layers, in training mode only.
    Parameters ``weight_ih_l{k}`` (H, in), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,) (plus ``..._reverse``), all ~ U(-1/sqrt(H), 1/sqrt(H)).
    """

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.nonlinearity = nonlinearity

    def _rnn_layer(self, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        """One layer, one direction: see :func:`rnn_layer`. Returns (out, h_T)."""
        return rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, self.nonlinearity, reverse)

    def _layer(self, x, states, weights, reverse):
        return self._rnn_layer(x, states[0], *weights, reverse=reverse)

    def forward(self, x, hx=None):
        x_tm, batched = self._prepare(x)
        h0 = self._state(hx, x_tm.shape[1], batched, x, "h0")
        out, (h_n,) = self._run(x_tm, (h0,))
        return self._finish(out, batched), (h_n if batched else h_n[:, 0])

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(_RNNBase):
    """Long short-term memory, PyTorch's gate order (input, forget, cell candidate, output).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
         bidirectional=False)
    forward(x, hx=None):
        x: (T, N, input_size), or (N, T, input_size) with batch_first, or unbatched (T, input_size);
        hx: (h0, c0), each (num_layers * D, N, hidden_size), zeros by default.
    Returns (output, (h_n, c_n)): output (T, N, D * hidden_size) (batch_first: (N, T, ...));
    h_n and c_n (num_layers * D, N, hidden_size) (never batch-first). ``dropout`` applies
    between layers in training mode. Parameters ``weight_ih_l{k}`` (4H, in),
    ``weight_hh_l{k}`` (4H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (4H,) (plus ``..._reverse``
    when bidirectional), all ~ U(-1/sqrt(H), 1/sqrt(H)). ``proj_size`` is not supported.
    """

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0):
        if proj_size:
            raise NotImplementedError(f"LSTM: proj_size={proj_size} is not supported (only 0)")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)

    def _lstm_layer(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        """One layer, one direction: see :func:`lstm_layer`. Returns (out, h_T, c_T).

        The fused kernel (:func:`lstm_layer_fused`) does it, on every backend and device."""
        return lstm_layer_fused(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)

    def _layer(self, x, states, weights, reverse):
        return self._lstm_layer(x, states[0], states[1], *weights, reverse=reverse)

    def forward(self, x, hx=None):
        x_tm, batched = self._prepare(x)
        if hx is None:
            h0 = c0 = None
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM: hx must be a pair (h0, c0) of tensors")
            h0, c0 = hx
        h0 = self._state(h0, x_tm.shape[1], batched, x, "h0")
        c0 = self._state(c0, x_tm.shape[1], batched, x, "c0")
        out, (h_n, c_n) = self._run(x_tm, (h0, c0))
        if not batched:
            h_n, c_n = h_n[:, 0], c_n[:, 0]
        return self._finish(out, batched), (h_n, c_n)


class GRU(_RNNBase):
    """Gated recurrent unit, PyTorch's gate order (reset, update, new).

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False)
    forward(x, hx=None): x as in RNN; hx: h0 (num_layers * D, N, hidden_size), zeros by default.
    Returns (output, h_n) with RNN's shapes. Parameters ``weight_ih_l{k}`` (3H, in),
    ``weight_hh_l{k}`` (3H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H,) (plus ``..._reverse``),
    all ~ U(-1/sqrt(H), 1/sqrt(H)).
    """

    _gates = 3

    def _gru_layer(self, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        """One layer, one direction: see :func:`gru_layer`. Returns (out, h_T).

        The fused kernel (:func:`gru_layer_fused`) does it, on every backend and device."""
        return gru_layer_fused(x, h0, w_ih, w_hh, b_ih, b_hh, reverse)

    def _layer(self, x, states, weights, reverse):
        return self._gru_layer(x, states[0], *weights, reverse=reverse)

    def forward(self, x, hx=None):
        x_tm, batched = self._prepare(x)
        h0 = self._state(hx, x_tm.shape[1], batched, x, "h0")
        out, (h_n,) = self._run(x_tm, (h0,))
        return self._finish(out, batched), (h_n if batched else h_n[:, 0])
