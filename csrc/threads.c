/*
 * threads.c - the thread count, the one piece of mutable state the kernels share.
 *
 * Parallelism is coarse: a kernel asks tge_threads_for() how many threads its problem
 * deserves and opens one OpenMP parallel region with exactly that many
 * (num_threads(...) clause), splitting over the batch, over images, over planes, or
 * over row blocks of a matrix product.  Small problems run on the calling thread, where
 * starting a team would cost more than it saves.  Nothing here is per call, so calls
 * from several Python threads at once are safe (each opens its own team).
 */
#include <stdatomic.h>

#include "tge_internal.h"

/* 0 means "the OpenMP default" (omp_get_max_threads(): OMP_NUM_THREADS or the core
   count).  Atomic because Python threads may set and read it concurrently. */
static atomic_int configured_threads = 0;

int tge_abi_version(void) { return TGE_ABI_VERSION; }

int tge_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int tge_set_num_threads(int n)
{
    if (n < 0) return TGE_EINVAL;
    atomic_store(&configured_threads, n);
    return TGE_OK;
}

int tge_get_num_threads(void)
{
    int n = atomic_load(&configured_threads);
    if (n > 0) return n;
#ifdef _OPENMP
    n = omp_get_max_threads();
    return n > 0 ? n : 1;
#else
    return 1;
#endif
}

int tge_threads_for(int64_t work, int64_t max_parts)
{
    int64_t n = tge_get_num_threads();
    int64_t by_work = work / TGE_MIN_WORK_PER_THREAD;
    if (n > by_work) n = by_work;
    if (n > max_parts) n = max_parts;
    if (n < 1) n = 1;
#ifndef _OPENMP
    n = 1;
#endif
    return (int)n;
}
