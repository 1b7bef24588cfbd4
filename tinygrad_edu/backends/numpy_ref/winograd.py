"""Winograd's minimal filtering F(2x2, 3x3): a 3x3, stride-1 convolution with fewer multiplies.

The NumPy twin of csrc/conv_winograd.inc, written to be read.  The kernels' entry points are
still conv2d_forward / backward_input / backward_weight (numpy_ref/conv.py states what they
compute); on AVX-512 CPUs the C code computes 3x3 stride-1 convolutions of wide enough layers
this way instead, and these functions are what the tests hold it to.

One dimension first.  Two outputs of a 3-tap correlation, y_i = sum_r d[i + r] g[r] (i < 2),
read four inputs d[0..3].  Directly that is 6 multiplies; Winograd's form takes 4:

    y = AT @ ((G @ g) * (BT @ d))          (* elementwise, over 4 "transform points")

with the integer / half-integer matrices BT (4x4), G (4x3) and AT (2x4) below.  In two
dimensions the same holds per axis: a 2x2 output tile from a 4x4 input patch is

    Y = AT @ [(G @ g @ G.T) * (BT @ d @ BT.T)] @ AT.T       16 multiplies instead of 36,

and over channels the products at each of the 16 points sum like a matrix product:

    M[xi] (tiles, O) = V[xi] (tiles, C) @ U[xi] (C, O)      V = BT d BT^T, U = G g G^T

so a convolution becomes 16 matrix products of depth C (2.25x fewer multiplies than the
direct 3x3 products; the transforms are additions).

The gradients follow from the same trilinear form  sum_i gy_i y_i = sum_xi (AT^T gy)_xi
(G g)_xi (BT d)_xi,  differentiated by g or by d:

    weight gradient  gw = G.T @ [sum over tiles of Z * (BT @ d @ BT.T)] @ G
    input gradient   each tile's patch gets BT.T @ [Z * (G @ g @ G.T)] @ BT (summed over
                     the output channels: P[xi] = Z[xi] @ U[xi]^T), overlapping patches
                     added up

with Z = AT.T @ gy_tile @ AT, the 4x4 points of each 2x2 tile of gy.

Tiles: output rows and columns in pairs, TH = ceil(OH / 2) by TW = ceil(OW / 2) per image; a
last half tile reads zeros below / right of the padded input and its extra outputs are
dropped.  Shapes as in conv.py: x (N, C, H, W), weight (O, C, 3, 3), y (N, O, OH, OW).
"""
import numpy as np

# Input (data) transform: V = BT @ d @ BT.T for a 4x4 patch d.
BT = np.array([[1, 0, -1, 0],
               [0, 1, 1, 0],
               [0, -1, 1, 0],
               [0, 1, 0, -1]], dtype=np.float64)
# Kernel transform: U = G @ g @ G.T for a 3x3 kernel g.
G = np.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=np.float64)
# Output transform: Y = AT @ M @ AT.T, 2x2 outputs from the 4x4 points.
AT = np.array([[1, 1, 1, 0],
               [0, 1, -1, -1]], dtype=np.float64)


def tile_counts(oh: int, ow: int) -> tuple:
    """(TH, TW): 2x2 output tiles per column and per row of an (OH, OW) output."""
    return (oh + 1) // 2, (ow + 1) // 2


def input_patches(x, padding, oh: int, ow: int):
    """(N, C, TH, TW, 4, 4): the 4x4 input patch of every output tile (zero padded)."""
    n, c, h, w = x.shape
    th, tw = tile_counts(oh, ow)
    ph, pw = padding
    # room for the last tile's 4 rows / columns: 2*TH + 2 >= H + 2*ph (zeros past the input)
    xp = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    rows = 2 * np.arange(th)[:, None] + np.arange(4)[None, :]  # (TH, 4) patch rows
    cols = 2 * np.arange(tw)[:, None] + np.arange(4)[None, :]  # (TW, 4)
    return xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def transform_kernel(weight):
    """(O, C, 3, 3) -> U (4, 4, C, O) = G g G^T for every (o, c) pair."""
    u = np.einsum("ai,ocij,bj->ocab", G, weight, G)
    return u.transpose(2, 3, 1, 0)


def conv2d_forward(x, weight, bias, padding):
    """y (N, O, OH, OW) of a 3x3, stride-1 convolution with the given (ph, pw) padding."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    oh, ow = h + 2 * padding[0] - 2, w + 2 * padding[1] - 2
    th, tw = tile_counts(oh, ow)
    d = input_patches(x, padding, oh, ow)                      # (N, C, TH, TW, 4, 4)
    v = np.einsum("ar,nctsrq,bq->abntsc", BT, d, BT)          # (4, 4, N, TH, TW, C)
    m = v @ transform_kernel(weight)[:, :, None, None]        # 16 products -> (4, 4, N, TH, TW, O)
    tiles = np.einsum("ia,abntso,jb->notisj", AT, m, AT)      # (N, O, TH, 2, TW, 2)
    y = tiles.reshape(n, o, 2 * th, 2 * tw)[:, :, :oh, :ow]
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1)
    return np.ascontiguousarray(y, dtype=x.dtype)


def conv2d_backward_input(gy, weight, x_shape, padding):
    """gx (N, C, H, W): per output tile, P = Z @ U^T at each point (Z = AT^T gy AT), mapped
    back to a 4x4 patch gradient BT^T P BT; overlapping patches add up."""
    n, c, h, w = x_shape
    th, tw = tile_counts(gy.shape[2], gy.shape[3])
    z = _gradient_points(gy)                                   # (4, 4, N, TH, TW, O)
    p = z @ transform_kernel(weight).swapaxes(2, 3)[:, :, None, None]  # (4, 4, N, TH, TW, C)
    patches = np.einsum("ar,abntsc,bq->nctsrq", BT, p, BT)    # (N, C, TH, TW, 4, 4)
    gxp = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=np.result_type(gy, weight))
    for r in range(4):      # patch (ti, tj) covers rows 2ti + r, columns 2tj + q
        for q in range(4):
            gxp[:, :, r:r + 2 * th:2, q:q + 2 * tw:2] += patches[..., r, q]
    ph, pw = padding
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w], dtype=gy.dtype)


def _gradient_points(gy):
    """Z = AT^T g AT for every 2x2 tile g of gy (zeros past the outputs): (4, 4, N, TH, TW, O)."""
    n, o, oh, ow = gy.shape
    th, tw = tile_counts(oh, ow)
    gyp = np.zeros((n, o, 2 * th, 2 * tw), dtype=gy.dtype)
    gyp[:, :, :oh, :ow] = gy
    return np.einsum("ia,notisj,jb->abntso", AT, gyp.reshape(n, o, th, 2, tw, 2), AT)


def conv2d_backward_weight(gy, x, padding):
    """gw (O, C, 3, 3) = G^T [sum over tiles of (AT^T gy AT) * (BT d BT^T)] G."""
    d = input_patches(x, padding, gy.shape[2], gy.shape[3])   # (N, C, TH, TW, 4, 4)
    v = np.einsum("ar,nctsrq,bq->abntsc", BT, d, BT)          # (4, 4, N, TH, TW, C)
    z = _gradient_points(gy)                                   # (4, 4, N, TH, TW, O)
    s = np.einsum("abntsc,abntso->abco", v, z)                # 16 products over the tiles
    gw = np.einsum("ai,abco,bj->ocij", G, s, G)
    return np.ascontiguousarray(gw, dtype=x.dtype)
