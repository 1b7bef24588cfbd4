/*
 * peak.c - the machine's float32 fused multiply-add throughput, for the benchmarks' "% of
 * peak" column (tinygrad_edu/benchmark.py).  Not a kernel: nothing else calls it.
 *
 * Scheme: 12 independent accumulator vectors, each updated acc = acc * m + b once per
 * iteration.  An FMA has a latency of about 4 cycles and a core issues two per cycle, so
 * at least 8 independent chains are needed to keep both pipes busy; 12 leave a margin and
 * still fit in the 16 (AVX2) or 32 (AVX-512) vector registers.  The widest vectors the CPU
 * has are used (a function-level target attribute, as in gemm.c), so the figure is what a
 * perfect GEMM micro-kernel could reach on one core.
 *
 * Measured on the development machine (AMD EPYC, Zen 5, AVX-512, best of 15 runs on a
 * loaded machine): about 250 GFLOP/s, i.e. 2 x 16-lane FMAs per cycle at ~3.9 GHz.
 */
#include <time.h>

#include "tge_internal.h"

#define PEAK_BODY(VBYTES)                                                              \
    typedef float vec __attribute__((vector_size(VBYTES)));                            \
    vec a0 = (vec){0} + 1, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4,         \
        a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, \
        a11 = a0 + 11;                                                                 \
    vec m = (vec){0} + 0.9999999f, b = (vec){0} + 1e-7f;                               \
    struct timespec t0, t1;                                                            \
    clock_gettime(CLOCK_MONOTONIC, &t0);                                               \
    for (int64_t it = 0; it < iters; ++it) {                                           \
        a0 = a0 * m + b; a1 = a1 * m + b; a2 = a2 * m + b; a3 = a3 * m + b;             \
        a4 = a4 * m + b; a5 = a5 * m + b; a6 = a6 * m + b; a7 = a7 * m + b;             \
        a8 = a8 * m + b; a9 = a9 * m + b; a10 = a10 * m + b; a11 = a11 * m + b;         \
        /* an empty asm that "may change" m and b: the loop cannot be folded away */   \
        __asm__ volatile("" : "+x"(m), "+x"(b));                                       \
    }                                                                                  \
    clock_gettime(CLOCK_MONOTONIC, &t1);                                               \
    vec s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                \
    *sink = s[0];                                                                      \
    double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec); \
    return dt > 0 ? 2.0 * (VBYTES / 4) * 12 * (double)iters / dt / 1e9 : 0.0;

static double peak_generic(int64_t iters, volatile float *sink) { PEAK_BODY(16) }

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static double peak_avx2(int64_t iters, volatile float *sink)
{
    PEAK_BODY(32)
}
__attribute__((target("avx512f,avx2,fma"))) static double peak_avx512(int64_t iters,
                                                                      volatile float *sink)
{
    PEAK_BODY(64)
}
#endif

double tge_fma_peak_gflops_f32(int64_t iters)
{
    volatile float sink = 0;
    if (iters < 1) return 0.0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) return peak_avx512(iters, &sink);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return peak_avx2(iters, &sink);
#endif
    return peak_generic(iters, &sink);
}
