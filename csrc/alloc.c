/*
 * alloc.c - allocator settings so that steady-state training reuses memory.
 *
 * A training step allocates the same large arrays every step (activations, their
 * gradients, im2col buffers: 0.1 to 6 MB each for the CNN at batch 64).  glibc's malloc
 * serves blocks above M_MMAP_THRESHOLD (128 KiB at start, raised dynamically up to 32 MiB
 * only after such a block is freed) with a fresh mmap and gives them back with munmap on
 * free, and it returns the top of the heap to the system above M_TRIM_THRESHOLD.  Either
 * way the next step touches fresh pages, and the kernel zeroes every one of them on first
 * touch: about 1 ms per MB, several ms per CNN step.  Raising both thresholds once keeps
 * freed blocks in the heap, where the next step finds them warm.
 *
 * The price: memory freed by the program is kept by the process (up to the largest
 * working set seen, which is what the next step needs anyway) instead of being returned
 * at once.  TGE_MALLOC_TUNE=0 in the environment skips this (c.py checks it).
 * Measured (CNN step, batch 64, one thread): minor page faults per step from ~1,200 to
 * 10-150, and the step ~1-2 ms faster.
 */
#include "tge_internal.h"

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

int tge_malloc_tune(int64_t mmap_threshold, int64_t trim_threshold)
{
    if (mmap_threshold < 0 || trim_threshold < 0) return TGE_EINVAL;
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* glibc caps the mmap threshold at 32 MiB on 64-bit (HEAP_MAX_SIZE / 2) */
    if (mmap_threshold > ((int64_t)32 << 20)) mmap_threshold = (int64_t)32 << 20;
    if (trim_threshold > INT32_MAX) trim_threshold = INT32_MAX;
    int ok = 1;
    if (mmap_threshold > 0) ok &= mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1;
    if (trim_threshold > 0) ok &= mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1;
    return ok ? TGE_OK : TGE_EINVAL;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return TGE_OK;  /* another C library: nothing to tune */
#endif
}
