/*
 * gemm.c - the matrix product C = op(A) @ op(B), float32 (tge_matmul_f32) and float64
 * (tge_matmul_f64), op(X) = X or X^T, optionally batched.
 *
 * The code for one element type lives in gemm_impl.inc (reference loop nest, blocked
 * product, threading, the checked entry point) and is included here twice; it includes
 * gemm_plan.inc (the micro-kernels and the cache blocking of each instruction set, with
 * the reasons for its sizes) and gemm_pack.inc (packing).  The register-blocked
 * micro-kernel is the template gemm_ukernel.inc, instantiated per instruction set:
 *
 *   path      register tile (MR x NR)       float32   float64
 *   avx512    12 x 2 zmm vectors            12 x 32   12 x 16
 *   avx2      6 x 2 ymm vectors (+FMA)      6 x 16    6 x 8
 *   generic   4 x 2 16-byte vectors         4 x 8     4 x 4     (SSE2, NEON, ...)
 *
 * The build is portable (no -march): the AVX2/AVX-512 kernels carry a function-level
 * target attribute and are chosen at run time with __builtin_cpu_supports, so one
 * binary runs on any x86-64, and on other architectures only the generic kernel is
 * compiled.  The environment variable TGE_SIMD=generic|avx2|avx512 can lower the choice
 * (never raise it above what the CPU has), which is how the tests exercise every path.
 *
 * Measured (benches/bench_kernels.py; AMD EPYC Zen 5 with AVX-512, one thread, best of
 * many runs): float32 n = 256 / 512: 194 / 219 GFLOP/s (NumPy's OpenBLAS: 117 / 119);
 * float64: 104 / 106 GFLOP/s (OpenBLAS: 55 / 57).  On a 2.8 GHz Ice Lake Xeon (48 KB
 * L1, 1.25 MB L2), after the blocking of gemm_plan.inc: float32 n = 256 / 512 / 1024 /
 * 2048 at about 154 / 153 / 141 / 138 GFLOP/s against an FMA peak of ~175-180.  More in
 * docs/kernels.md.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tge_internal.h"

/* TGE_NO_X86_DISPATCH (a -D flag) compiles only the generic kernel, as on ARM. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && \
    !defined(TGE_NO_X86_DISPATCH)
#define TGE_X86_DISPATCH 1
#else
#define TGE_X86_DISPATCH 0
#endif

enum { TGE_PATH_GENERIC = 0, TGE_PATH_AVX2 = 1, TGE_PATH_AVX512 = 2 };

/* The best micro-kernel family this CPU supports, lowered by TGE_SIMD if set.  Worked
   out at the first product and kept (getenv scans the whole environment, and a product
   asks several times: for the batched 128 x 128 x 32 attention products that was a few
   percent); every thread computes the same value, so the unsynchronised first store is
   harmless, and the relaxed atomics keep ThreadSanitizer quiet.  TGE_SIMD must therefore
   be set before the first product (the tests set it for a child process). */
static int tge_gemm_path_uncached(void)
{
    int best = TGE_PATH_GENERIC;
#if TGE_X86_DISPATCH
    if (__builtin_cpu_supports("avx512f"))
        best = TGE_PATH_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        best = TGE_PATH_AVX2;
#endif
    const char *want = getenv("TGE_SIMD");
    if (want) {
        int w = best;
        if (strcmp(want, "generic") == 0) w = TGE_PATH_GENERIC;
        else if (strcmp(want, "avx2") == 0) w = TGE_PATH_AVX2;
        else if (strcmp(want, "avx512") == 0) w = TGE_PATH_AVX512;
        if (w < best) best = w;
    }
    return best;
}

static int tge_gemm_path(void)
{
    static atomic_int cached = -1;
    int path = atomic_load_explicit(&cached, memory_order_relaxed);
    if (path < 0) {
        path = tge_gemm_path_uncached();
        atomic_store_explicit(&cached, path, memory_order_relaxed);
    }
    return path;
}

const char *tge_simd_path(void)
{
    switch (tge_gemm_path()) {
    case TGE_PATH_AVX512: return "avx512";
    case TGE_PATH_AVX2: return "avx2";
    default: return "generic";
    }
}

#define T float
#define TI int32_t /* the signed integer as wide as T (shuffle masks) */
#define SFX(name) name##_f32
#include "gemm_impl.inc"
#undef T
#undef TI
#undef SFX

#define T double
#define TI int64_t
#define SFX(name) name##_f64
#include "gemm_impl.inc"
#undef T
#undef TI
#undef SFX
