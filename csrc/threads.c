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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#endif

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

/* ---- adapting to a loaded machine ----
 * A team of n threads is only as fast as its slowest member: when another program keeps
 * one of the cores busy, the thread that lands there gets a fraction of a CPU, and every
 * parallel region waits for it at its closing barrier (measured on two cores with a
 * busy-loop on one: a CNN epoch 2-5x slower with 2 threads than with 1).  So before
 * opening a team, a kernel asks how many CPUs are free: Linux counts the runnable threads
 * of the whole machine right now (/proc/loadavg, as procs_running in /proc/stat); minus
 * the calling thread, the rest are others.  The team gets at most (online CPUs - others)
 * threads, and at least 1.  Idle OpenMP workers must not count themselves as others:
 * tinygrad_edu.backends sets a short spin (GOMP_SPINCOUNT) before this module loads, so
 * workers sleep soon after a region ends (and a sleeping thread also gets the CPU back
 * at once when woken, where a spinning one would have used up its time slice).
 * The reading is cached for TGE_CPU_PROBE_NS (one open/read per 10 ms at most), so the
 * cost is a clock read per kernel call.  TGE_ADAPTIVE_THREADS=0 turns it off. */
#define TGE_CPU_PROBE_NS 10000000LL

static atomic_int adaptive = -1;          /* -1: not read from the environment yet */
static atomic_llong probe_time_ns = 0;    /* when free_cpus was last measured */
static atomic_int free_cpus = 0;          /* 0: unknown (no /proc/loadavg) */

static long long tge_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Runnable threads on the machine, or -1: the R of "0.52 0.58 0.59 R/T last_pid" in
   /proc/loadavg (the same count as procs_running in /proc/stat, from a 30-byte file
   instead of one that grows with the CPU and interrupt counts). */
static int tge_procs_running(void)
{
#ifdef __linux__
    char buf[128];
    int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) return -1;
    buf[len] = 0;
    const char *slash = strchr(buf, '/');
    if (!slash) return -1;
    const char *at = slash;
    while (at > buf && at[-1] >= '0' && at[-1] <= '9') --at;
    return at == slash ? -1 : atoi(at);
#else
    return -1;
#endif
}

/* Runnable threads of this process (state R in /proc/self/task/TID/stat), or 1 when they
   cannot be read. Our own OpenMP workers, still spinning between two kernels, are runnable
   too: they are this process's, not others', and must not shrink the next team. */
static int tge_own_running_threads(void)
{
#ifdef __linux__
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return 1;
    int own = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        const char *paren = strrchr(buf, ')');  /* the name may hold spaces and ')' */
        if (paren && paren[1] == ' ' && paren[2] == 'R') ++own;
    }
    closedir(dir);
    return own < 1 ? 1 : own;
#else
    return 1;
#endif
}

int tge_cpus_free(void)
{
#ifdef __linux__
    const int running = tge_procs_running();
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (running < 1 || online < 1) return 0;
    /* others = the machine's runnable threads minus this process's (the caller among them) */
    const int others = running - tge_own_running_threads();
    const long free_now = online - (others < 0 ? 0 : others);
    return free_now < 1 ? 1 : (int)free_now;
#else
    return 0;
#endif
}

int tge_set_adaptive_threads(int on)
{
    if (on != 0 && on != 1) return TGE_EINVAL;
    atomic_store(&adaptive, on);
    atomic_store(&probe_time_ns, 0);
    return TGE_OK;
}

int tge_get_adaptive_threads(void)
{
    int on = atomic_load(&adaptive);
    if (on < 0) {
        const char *env = getenv("TGE_ADAPTIVE_THREADS");
        on = !(env && env[0] == '0' && env[1] == 0);
        atomic_store(&adaptive, on);
    }
    return on;
}

/* The free CPUs, measured at most every TGE_CPU_PROBE_NS; 0 when unknown. */
static int tge_cpus_free_cached(void)
{
    const long long now = tge_now_ns();
    const long long last = atomic_load(&probe_time_ns);
    if (last != 0 && now - last < TGE_CPU_PROBE_NS) return atomic_load(&free_cpus);
    /* one thread measures; others meanwhile use the previous figure */
    long long expected = last;
    if (!atomic_compare_exchange_strong(&probe_time_ns, &expected, now))
        return atomic_load(&free_cpus);
    const int f = tge_cpus_free();
    atomic_store(&free_cpus, f);
    return f;
}

int tge_threads_for(int64_t work, int64_t max_parts)
{
    int64_t n = tge_get_num_threads();
    int64_t by_work = work / TGE_MIN_WORK_PER_THREAD;
    if (n > by_work) n = by_work;
    if (n > max_parts) n = max_parts;
    if (n > 1 && tge_get_adaptive_threads()) {
        const int f = tge_cpus_free_cached();
        if (f > 0 && n > f) n = f;
    }
    if (n < 1) n = 1;
#ifndef _OPENMP
    n = 1;
#endif
    return (int)n;
}
