"""Winograd's minimal filtering F(m x m, 3x3): a 3x3, stride-1 convolution with fewer multiplies.

The NumPy twin of csrc/conv_winograd.inc (which uses m = 4), written to be read.  The
kernels' entry points are still conv2d_forward / backward_input / backward_weight
(numpy_ref/conv.py states what they compute); on AVX-512 CPUs the C code computes 3x3
stride-1 convolutions of wide enough layers this way, and these functions are what the tests
hold it to.

One dimension first.  m outputs of a 3-tap correlation, y_i = sum_r d[i + r] g[r] (i < m),
read n = m + 2 inputs.  Directly that is 3m multiplies; Winograd's form takes n:

    y = AT @ ((G @ g) * (BT @ d))          (* elementwise, over n "transform points")

with BT (n x n), G (n x 3) and AT (m x n) below: F(2, 3) uses the points 0, 1, -1 and
infinity (4 multiplies instead of 6), F(4, 3) also 2 and -2 (6 instead of 12).  In two
dimensions the same holds per axis: an m x m output tile from an n x n input patch is

    Y = AT @ [(G @ g @ G.T) * (BT @ d @ BT.T)] @ AT.T       n^2 multiplies instead of 9 m^2,

and over channels the products at each of the n^2 points sum like a matrix product:

    M[xi] (tiles, O) = V[xi] (tiles, C) @ U[xi] (C, O)      V = BT d BT^T, U = G g G^T

so a convolution becomes n^2 matrix products of depth C: 16 for F(2x2, 3x3) (2.25x fewer
multiplies than the direct 3x3 products), 36 for F(4x4, 3x3) (4x fewer).  The transforms
are additions and multiplications by small constants.  F(4, 3)'s constants (up to 8 in AT,
1/24 in G) round a little more: float32 results differ from the direct sums by ~1e-6 of
their scale instead of ~3e-7.

The gradients follow from the same trilinear form  sum_i gy_i y_i = sum_xi (AT^T gy)_xi
(G g)_xi (BT d)_xi,  differentiated by g or by d:

    weight gradient  gw = G.T @ [sum over tiles of Z * (BT @ d @ BT.T)] @ G
    input gradient   each tile's patch gets BT.T @ [Z * (G @ g @ G.T)] @ BT (summed over
                     the output channels: P[xi] = Z[xi] @ U[xi]^T), overlapping patches
                     added up

with Z = AT.T @ gy_tile @ AT, the n x n points of each m x m tile of gy.

Tiles: output rows and columns in groups of m, TH = ceil(OH / m) by TW = ceil(OW / m) per
image; a last partial tile reads zeros below / right of the padded input and its extra
outputs are dropped.  Shapes as in conv.py: x (N, C, H, W), weight (O, C, 3, 3),
y (N, O, OH, OW).
"""
import numpy as np

#: m -> (BT, G, AT): input (data) transform V = BT d BT^T, kernel transform U = G g G^T,
#: output transform Y = AT M AT^T
TRANSFORMS = {
    2: (np.array([[1, 0, -1, 0],
                  [0, 1, 1, 0],
                  [0, -1, 1, 0],
                  [0, 1, 0, -1]], dtype=np.float64),
        np.array([[1, 0, 0],
                  [0.5, 0.5, 0.5],
                  [0.5, -0.5, 0.5],
                  [0, 0, 1]], dtype=np.float64),
        np.array([[1, 1, 1, 0],
                  [0, 1, -1, -1]], dtype=np.float64)),
    4: (np.array([[4, 0, -5, 0, 1, 0],
                  [0, -4, -4, 1, 1, 0],
                  [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0],
                  [0, 4, 0, -5, 0, 1]], dtype=np.float64),
        np.array([[1 / 4, 0, 0],
                  [-1 / 6, -1 / 6, -1 / 6],
                  [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6],
                  [0, 0, 1]], dtype=np.float64),
        np.array([[1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 0],
                  [0, 1, 1, 4, 4, 0],
                  [0, 1, -1, 8, -8, 1]], dtype=np.float64)),
}
#: the tile size csrc/conv_winograd.inc uses
C_TILE = 4


def tile_counts(oh: int, ow: int, m: int = C_TILE) -> tuple:
    """(TH, TW): m x m output tiles per column and per row of an (OH, OW) output."""
    return -(-oh // m), -(-ow // m)


def input_patches(x, padding, oh: int, ow: int, m: int = C_TILE):
    """(N, C, TH, TW, n, n): the n x n input patch (n = m + 2) of every output tile."""
    batch, c, h, w = x.shape
    th, tw = tile_counts(oh, ow, m)
    n = m + 2
    ph, pw = padding
    # room for the last tile's n rows / columns: m*TH + 2 >= H + 2*ph (zeros past the input)
    xp = np.zeros((batch, c, m * th + 2, m * tw + 2), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    rows = m * np.arange(th)[:, None] + np.arange(n)[None, :]  # (TH, n) patch rows
    cols = m * np.arange(tw)[:, None] + np.arange(n)[None, :]  # (TW, n)
    return xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def transform_kernel(weight, m: int = C_TILE):
    """(O, C, 3, 3) -> U (n, n, C, O) = G g G^T for every (o, c) pair."""
    _, g, _ = TRANSFORMS[m]
    return np.einsum("ai,ocij,bj->abco", g, weight, g)


def input_points(x, padding, oh: int, ow: int, m: int = C_TILE):
    """V = BT d BT^T for every tile's patch d: (n, n, N, TH, TW, C)."""
    bt, _, _ = TRANSFORMS[m]
    return np.einsum("ar,nctsrq,bq->abntsc", bt, input_patches(x, padding, oh, ow, m), bt)


def gradient_points(gy, m: int = C_TILE):
    """Z = AT^T g AT for every m x m tile g of gy (zeros past the outputs): (n, n, N, TH, TW, O)."""
    _, _, at = TRANSFORMS[m]
    batch, o, oh, ow = gy.shape
    th, tw = tile_counts(oh, ow, m)
    gyp = np.zeros((batch, o, m * th, m * tw), dtype=gy.dtype)
    gyp[:, :, :oh, :ow] = gy
    return np.einsum("ia,notisj,jb->abntso", at, gyp.reshape(batch, o, th, m, tw, m), at)


def conv2d_forward(x, weight, bias, padding, m: int = C_TILE):
    """y (N, O, OH, OW) of a 3x3, stride-1 convolution with the given (ph, pw) padding."""
    _, _, at = TRANSFORMS[m]
    batch, c, h, w = x.shape
    o = weight.shape[0]
    oh, ow = h + 2 * padding[0] - 2, w + 2 * padding[1] - 2
    th, tw = tile_counts(oh, ow, m)
    v = input_points(x, padding, oh, ow, m)                    # (n, n, N, TH, TW, C)
    points = v @ transform_kernel(weight, m)[:, :, None, None]  # n^2 products: (n, n, N, TH, TW, O)
    tiles = np.einsum("ia,abntso,jb->notisj", at, points, at)  # (N, O, TH, m, TW, m)
    y = tiles.reshape(batch, o, m * th, m * tw)[:, :, :oh, :ow]
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1)
    return np.ascontiguousarray(y, dtype=x.dtype)


def conv2d_backward_input(gy, weight, x_shape, padding, m: int = C_TILE):
    """gx (N, C, H, W): per output tile, P = Z @ U^T at each point (Z = AT^T gy AT), mapped
    back to an n x n patch gradient BT^T P BT; overlapping patches add up."""
    bt, _, _ = TRANSFORMS[m]
    batch, c, h, w = x_shape
    th, tw = tile_counts(gy.shape[2], gy.shape[3], m)
    z = gradient_points(gy, m)                                 # (n, n, N, TH, TW, O)
    p = z @ transform_kernel(weight, m).swapaxes(2, 3)[:, :, None, None]  # (n, n, N, TH, TW, C)
    patches = np.einsum("ar,abntsc,bq->nctsrq", bt, p, bt)    # (N, C, TH, TW, n, n)
    gxp = np.zeros((batch, c, m * th + 2, m * tw + 2), dtype=np.result_type(gy, weight))
    for r in range(m + 2):      # patch (ti, tj) covers rows m*ti + r, columns m*tj + q
        for q in range(m + 2):
            gxp[:, :, r:r + m * th:m, q:q + m * tw:m] += patches[..., r, q]
    ph, pw = padding
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w], dtype=gy.dtype)


def conv2d_backward_weight(gy, x, padding, m: int = C_TILE):
    """gw (O, C, 3, 3) = G^T [sum over tiles of (AT^T gy AT) * (BT d BT^T)] G."""
    _, g, _ = TRANSFORMS[m]
    v = input_points(x, padding, gy.shape[2], gy.shape[3], m)  # (n, n, N, TH, TW, C)
    z = gradient_points(gy, m)                                 # (n, n, N, TH, TW, O)
    s = np.einsum("abntsc,abntso->abco", v, z)                # n^2 products over the tiles
    gw = np.einsum("ai,abco,bj->ocij", g, s, g)
    return np.ascontiguousarray(gw, dtype=x.dtype)
