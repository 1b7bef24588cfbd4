"""A whole LSTM layer as one Function: the fused recurrent kernel behind nn.LSTM.

nn.rnn.lstm_layer writes one layer with ordinary tensor ops: about 15 small ops per time
step forward and as many backward, each a Python call and a fresh array, which at the
articles' sizes (batch 64, hidden 100) costs far more than the arithmetic.  Here the
recurrence is one kernel call forward and one backward (``lstm_forward`` /
``lstm_backward`` of the kernel table: csrc/lstm.c, or the NumPy twin in
backends/numpy_ref/lstm.py), and the graph holds one node for the whole sequence.

The input projection xw = x @ W_ih^T + b_ih + b_hh is not part of it: that is one Linear
op over all steps (its backward gives dx, dW_ih and the biases), done before.

Result layout: one array hs (S + 1, N, H) with hs[:S] = the hidden state at every
position and hs[S] = the final cell state c_n (an autograd Function has one output; the
caller slices h_n and c_n out of it, and their gradients come back through the slices).
"""
from __future__ import annotations

from ..autograd import Function
from ..backends import kernels_for
from ..device import array_module


class LSTMLayer(Function):
    """hs = [out; c_n] for one LSTM layer.  xw (S, N, 4H), h0, c0 (N, H), w_hh (4H, H).

    Backward (backpropagation through time, in the kernel):
        dz_t = the gates' local derivatives times (dh_t, dc_t), step by step from the end
        dxw[t] = dz_t,   dW_hh = sum_t dz_t^T h_{t-1},   dh0, dc0 = what reaches step 0.
    """

    def forward(self, xw, h0, c0, w_hh, reverse=False):
        kern = kernels_for(xw)
        out, c_all, gates = kern.lstm_forward(xw, w_hh, h0, c0, reverse)
        self.saved = (w_hh, h0, c0, out, c_all, gates)
        self.reverse = reverse
        return _with_last_cell(out, c_all, reverse)

    def backward(self, g):
        w_hh, h0, c0, out, c_all, gates = self.saved
        steps = out.shape[0]
        xp = array_module(g)
        g_out = xp.ascontiguousarray(g[:steps])
        g_cn = xp.ascontiguousarray(g[steps])
        g_xw, g_h0, g_c0, g_w_hh = kernels_for(g).lstm_backward(
            w_hh, h0, c0, out, c_all, gates, g_out, g_cn, self.reverse)
        need = self.needs_input_grad
        return (g_xw if need[0] else None, g_h0 if need[1] else None,
                g_c0 if need[2] else None, g_w_hh if need[3] else None)


class LSTMInputLayer(Function):
    """hs = [out; c_n] for one LSTM layer that does its own input projection (the Keras
    LSTM): x (S, N, F), w_x (F, 4H), w_h (H, 4H) in Keras's layout, h0, c0 (N, H), and an
    optional bias (4H,) last.  Result as LSTMLayer: (S + 1, N, H).

    The kernels (``lstm_input_forward`` / ``lstm_input_backward``) compute each step's gates
    from [h_prev, x_t] @ [w_h; w_x] + bias, so the projection x @ w_x needs no array of its
    own and no separate products in backward:
        [dh_prev, dx_t] = dz_t @ [w_h; w_x]^T,   [dw_h; dw_x; dbias] = sum_t [h_prev, x_t, 1]^T dz_t
    """

    def forward(self, x, w_x, w_h, h0, c0, *bias, reverse=False):
        kern = kernels_for(x)
        out, c_all, gates = kern.lstm_input_forward(x, w_x, w_h, bias[0] if bias else None,
                                                    h0, c0, reverse)
        self.saved = (x, w_x, w_h, h0, c0, out, c_all, gates)
        self.reverse = reverse
        return _with_last_cell(out, c_all, reverse)

    def backward(self, g):
        saved = self.saved
        steps = saved[0].shape[0]
        xp = array_module(g)
        need = self.needs_input_grad
        with_bias = len(need) == 6 and need[5]
        g_x, g_w_x, g_w_h, g_bias, g_h0, g_c0 = kernels_for(g).lstm_input_backward(
            *saved, xp.ascontiguousarray(g[:steps]), xp.ascontiguousarray(g[steps]),
            self.reverse, with_bias)
        grads = tuple(a if want else None
                      for a, want in zip((g_x, g_w_x, g_w_h, g_h0, g_c0), need))
        return grads + ((g_bias,) if len(need) == 6 else ())


class GRULayer(Function):
    """out (S, N, H) for one GRU layer.  xw (S, N, 3H) = x @ W_ih^T + b_ih, h0 (N, H),
    w_hh (3H, H), b_hh (3H,) (a zero array when the layer has no bias: pass ``b_hh=`` then).

    One kernel call each way (``gru_forward`` / ``gru_backward``: csrc/gru.c or its NumPy
    twin in backends/numpy_ref/gru.py). Backward, step by step from the end:
        da_n = dh (1 - z)(1 - n^2),  da_r = da_n b_n r (1 - r),  da_z = dh (h_prev - n) z (1 - z)
        dxw[t] = (da_r, da_z, da_n),  db = (da_r, da_z, da_n r)
        dW_hh = sum_t db^T h_prev,  db_hh = sum db,  dh_prev = dh z + db @ W_hh
    The final state h_n is out[S - 1] (out[0] when reverse): the caller slices it.
    """

    def forward(self, xw, h0, w_hh, *bias, b_hh=None, reverse=False):
        b = bias[0] if bias else b_hh
        out, gates = kernels_for(xw).gru_forward(xw, w_hh, b, h0, reverse)
        self.saved = (w_hh, b, h0, out, gates)
        self.reverse = reverse
        return out

    def backward(self, g):
        w_hh, b, h0, out, gates = self.saved
        g_xw, g_h0, g_w_hh, g_b_hh = kernels_for(g).gru_backward(
            w_hh, b, h0, out, gates, array_module(g).ascontiguousarray(g), self.reverse)
        need = self.needs_input_grad
        grads = (g_xw if need[0] else None, g_h0 if need[1] else None, g_w_hh if need[2] else None)
        return grads + ((g_b_hh if need[3] else None,) if len(need) == 4 else ())


def _with_last_cell(out, c_all, reverse):
    """(S + 1, N, H): the S hidden states, then the last step's cell state (the first
    step's when the layer ran backwards): the one array the layer ops return."""
    steps = out.shape[0]
    hs = array_module(out).empty((steps + 1,) + out.shape[1:], dtype=out.dtype)
    hs[:steps] = out
    hs[steps] = c_all[0] if reverse else c_all[steps - 1]
    return hs


def split_last_cell(hs, reverse):
    """The inverse of the layer ops' result: (out (S, N, H), h_n, c_n) from hs (S + 1, N, H),
    h_n the last step's hidden state (the first step's when the layer ran backwards)."""
    steps = hs.shape[0] - 1
    return hs[:steps], hs[0 if reverse else steps - 1], hs[steps]
