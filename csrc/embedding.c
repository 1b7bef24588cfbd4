/*
 * embedding.c - the gradient of an embedding lookup, float32 and float64:
 * tge_embedding_backward_{f32, f64}.
 *
 *   forward (in Python, a gather):  y[i, :] = weight[ids[i], :]        ids: n values in [0, V)
 *   backward (here):                gw[v, :] = sum of g[i, :] over the i with ids[i] == v
 *                                   (all zero for v == padding_idx, when 0 <= padding_idx < V)
 *
 * NumPy's scatter-add (np.add.at) handles repeated ids correctly but costs ~1 ns per element
 * plus a per-row overhead: 3 ms for GPT's 2048 x 128 gradient.  The loop below adds each
 * row of g into its row of gw, in the order of i, so the result does not depend on the
 * thread count: the threads split the embedding dimension (columns), never the rows.
 * Every id is checked before anything is written (TGE_EINDEX for one outside [0, V)).
 */
#include <string.h>

#include "tge_internal.h"

static int tge_embedding_check(int64_t n, int64_t dim, int64_t num, const int64_t *ids,
                               int64_t ids_len, const void *g, int64_t g_len, const void *gw,
                               int64_t gw_len)
{
    int64_t ng, nw;
    if (n < 0 || dim < 0 || num < 0) return TGE_EINVAL;
    if (!tge_mul2(n, dim, &ng) || !tge_mul2(num, dim, &nw)) return TGE_EOVERFLOW;
    if (ids_len != n || g_len != ng || gw_len != nw) return TGE_ESIZE;
    if ((n > 0 && !ids) || (ng > 0 && !g) || (nw > 0 && !gw)) return TGE_EINVAL;
    for (int64_t i = 0; i < n; ++i)
        if (ids[i] < 0 || ids[i] >= num) return TGE_EINDEX;
    return TGE_OK;
}

/* Columns per thread at least this wide (a narrower split costs more than it saves). */
#define TGE_EMBEDDING_MIN_COLS 32

#define TGE_EMBEDDING_DEFINE(T, SFX)                                                        \
    int tge_embedding_backward_##SFX(int64_t n, int64_t dim, int64_t num_embeddings,        \
                                     const int64_t *ids, int64_t ids_len, const T *g,       \
                                     int64_t g_len, int64_t padding_idx, T *gw,             \
                                     int64_t gw_len)                                        \
    {                                                                                       \
        int err = tge_embedding_check(n, dim, num_embeddings, ids, ids_len, g, g_len, gw,   \
                                      gw_len);                                              \
        if (err != TGE_OK) return err;                                                      \
        if (gw_len > 0) memset(gw, 0, (size_t)gw_len * sizeof(T));                          \
        if (n == 0 || dim == 0) return TGE_OK;                                              \
        const int64_t parts_max = dim / TGE_EMBEDDING_MIN_COLS > 0                          \
                                      ? dim / TGE_EMBEDDING_MIN_COLS : 1;                   \
        const int nt = tge_threads_for(n > INT64_MAX / dim ? INT64_MAX : n * dim, parts_max); \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)")                                  \
        {                                                                                   \
            const int64_t parts = omp_get_num_threads(), me = omp_get_thread_num();         \
            const int64_t lo = dim / parts * me + (me < dim % parts ? me : dim % parts);    \
            const int64_t len = dim / parts + (me < dim % parts);                           \
            for (int64_t i = 0; i < n; ++i) {                                               \
                const T *restrict src = g + i * dim + lo;                                   \
                T *restrict dst = gw + ids[i] * dim + lo;                                   \
                _Pragma("omp simd")                                                         \
                for (int64_t d = 0; d < len; ++d) dst[d] += src[d];                         \
            }                                                                               \
        }                                                                                   \
        if (padding_idx >= 0 && padding_idx < num_embeddings)                               \
            memset(gw + padding_idx * dim, 0, (size_t)dim * sizeof(T));                     \
        return TGE_OK;                                                                      \
    }

#ifndef _OPENMP
#define omp_get_num_threads() 1
#define omp_get_thread_num() 0
#endif

TGE_EMBEDDING_DEFINE(float, f32)
TGE_EMBEDDING_DEFINE(double, f64)
