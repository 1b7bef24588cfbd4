/*
 * attention.c - causal multi-head self-attention over GPT's packed qkv, forward and
 * backward, one kernel call each, float32 and float64:
 * tge_causal_attention_{forward, backward}_{f32, f64}.
 *
 * qkv is (batch, rows, 3E), E = n_head * head_dim: for each token [q | k | v], head h in
 * columns h*D .. h*D+D-1 of each third.  The forward uses the last q_len of the first
 * kv_len rows as queries (query i at position p_i = kv_len - q_len + i):
 *
 *   s_j   = scale * q_i . k_j          for j = 0 .. p_i        (the causal mask)
 *   m     = max_j s_j,   l = sum_j exp(s_j - m)
 *   o_i   = sum_j exp(s_j - m) / l * v_j,     lse_i = m + log l
 *
 * The backward (q_len == kv_len == T) recomputes the probabilities from lse:
 *
 *   P_ij  = exp(s_ij - lse_i),   D_i = dO_i . o_i,   dS_ij = P_ij (dO_i . v_j - D_i)
 *   dq_i  = scale sum_j dS_ij k_j,  dk_j = scale sum_i dS_ij q_i,  dv_j = sum_i P_ij dO_i
 *
 * How (attention_impl.inc): the work is split over the (batch, head) pairs; each pair
 * reads and writes only its own columns, so threads never share an output element and
 * the result does not depend on the thread count.  Within a pair the query rows go in
 * tiles of TGE_ATTN_TILE: the scores of a tile against the keys it can see are one matrix
 * product read straight out of qkv (leading dimension 3E, no copy), the mask and the
 * softmax are one pass over each row, and the weighted sum is a second product; the
 * backward is five products per tile.  The (T, T) matrix never exists: a tile's rows
 * are all the scratch.  A few query rows (generation: one new token against the cache)
 * go a row at a time instead, with dot products, which costs less than packing.
 * First plain version (dot products row by row): ~2 GFLOP/s; with the products, the
 * attention of the GPT benchmark (T 128, d 32 per head) runs ~10x faster.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tge_internal.h"

/* Query rows per tile of the matrix-product path, and the fewest query rows that take it
   (fewer, as in generation, go a row at a time). */
#define TGE_ATTN_TILE 64
#define TGE_ATTN_ROWS_MIN 8
/* Query rows per block of the register-blocked path (attention_blocked.inc). */
#define TGE_ATTN_BLOCK_ROWS 4

/* The register-blocked path is on unless TGE_ATTN=tiles (tests compare the two paths). */
static int tge_attn_blocked_allowed(void)
{
    const char *path = getenv("TGE_ATTN");
    return !(path && strcmp(path, "tiles") == 0);
}

typedef struct {
    int64_t batch, rows, q_len, kv_len, heads, dim, width; /* width = 3E, a row of qkv */
    int64_t pairs;                                          /* batch * heads */
} tge_attn_sizes;

/* Sizes, overflow and the qkv buffer; TGE_OK or the code to return. */
static int tge_attn_check(int64_t batch, int64_t rows, int64_t q_len, int64_t kv_len,
                          int64_t heads, int64_t dim, const void *qkv, int64_t qkv_len,
                          tge_attn_sizes *sz)
{
    int64_t e, width, n, pairs, scratch;
    if (batch < 0 || rows < 0 || heads < 1 || dim < 0 || q_len < 0 || q_len > kv_len ||
        kv_len > rows)
        return TGE_EINVAL;
    /* every product the kernels form later is checked here: the (batch, head) pairs and the
       per-thread scratch of 2 * TGE_ATTN_TILE rows of kv_len (also when dim == 0 makes qkv empty) */
    if (!tge_mul2(heads, dim, &e) || !tge_mul2(e, 3, &width) ||
        !tge_mul4(batch, rows, width, 1, &n) || !tge_mul2(batch, heads, &pairs) ||
        !tge_mul2(kv_len, 2 * TGE_ATTN_TILE, &scratch))
        return TGE_EOVERFLOW;
    if (qkv_len != n) return TGE_ESIZE;
    if (n > 0 && !qkv) return TGE_EINVAL;
    sz->batch = batch; sz->rows = rows; sz->q_len = q_len; sz->kv_len = kv_len;
    sz->heads = heads; sz->dim = dim; sz->width = width; sz->pairs = pairs;
    return TGE_OK;
}

static int tge_attn_buffer(int64_t want, const void *ptr, int64_t len)
{
    if (len != want) return TGE_ESIZE;
    if (want > 0 && !ptr) return TGE_EINVAL;
    return TGE_OK;
}

#define T float
#define TI int32_t /* the signed integer as wide as T (shuffle masks) */
#define SFX(name) name##_f32
#define EXP tge_expf_fast
#define LOG logf
#include "attention_impl.inc"
#undef T
#undef TI
#undef SFX
#undef EXP
#undef LOG

#define T double
#define TI int64_t
#define SFX(name) name##_f64
#define EXP exp
#define LOG log
#include "attention_impl.inc"
#undef T
#undef TI
#undef SFX
#undef EXP
#undef LOG
