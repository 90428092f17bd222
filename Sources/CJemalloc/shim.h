#ifndef TAPEGRAD_CJEMALLOC_SHIM_H
#define TAPEGRAD_CJEMALLOC_SHIM_H

#include <jemalloc/jemalloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

/// 1: this build's CJemalloc is jemalloc (0 in Sources/CJemallocFallback, the module a build
/// with TAPEGRAD_SYSTEM_ALLOCATOR=1 uses instead).
static inline int tg_allocator_is_jemalloc(void) { return 1; }

/// jemalloc's flag macros (MALLOCX_ARENA, MALLOCX_TCACHE_NONE, MALLOCX_ALIGN) do not import
/// into Swift; these wrappers spell the one combination TapeGrad uses.
static inline int tg_arena_flags(unsigned arena, size_t alignment) {
    return MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE | MALLOCX_ALIGN(alignment);
}

/// Asks the kernel to back `[pointer, pointer + bytes)` with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`; this machine kind's THP mode is `madvise`). A no-op where the
/// kernel lacks THP.
static inline void tg_advise_huge_pages(void *pointer, size_t bytes) {
#ifdef MADV_HUGEPAGE
    (void)madvise(pointer, bytes, MADV_HUGEPAGE);
#else
    (void)pointer; (void)bytes;
#endif
}

/// Creates a new jemalloc arena and returns its index, or UINT32_MAX when jemalloc refuses.
static inline unsigned tg_arena_create(void) {
    unsigned index = 0;
    size_t size = sizeof(index);
    if (mallctl("arenas.create", &index, &size, NULL, 0) != 0) return (unsigned)-1;
    return index;
}

/// Bytes jemalloc has handed out from one arena and not taken back (its small and large
/// allocations), read from `stats.arenas.<i>.*` after refreshing the statistics epoch.
/// Returns 0 when jemalloc was built without statistics.
static inline size_t tg_arena_allocated_bytes(unsigned arena) {
    uint64_t epoch = 1;
    size_t size = sizeof(epoch);
    mallctl("epoch", &epoch, &size, &epoch, size);
    char name[96];
    size_t small = 0, large = 0, s = sizeof(size_t);
    snprintf(name, sizeof(name), "stats.arenas.%u.small.allocated", arena);
    if (mallctl(name, &small, &s, NULL, 0) != 0) small = 0;
    s = sizeof(size_t);
    snprintf(name, sizeof(name), "stats.arenas.%u.large.allocated", arena);
    if (mallctl(name, &large, &s, NULL, 0) != 0) large = 0;
    return small + large;
}

/// Number of allocation requests one arena has served (small and large), from jemalloc's
/// per-arena statistics: the counter the benchmarks read to prove a step allocates nothing.
static inline uint64_t tg_arena_allocation_count(unsigned arena) {
    uint64_t epoch = 1;
    size_t size = sizeof(epoch);
    mallctl("epoch", &epoch, &size, &epoch, size);
    char name[96];
    uint64_t small = 0, large = 0;
    size_t s = sizeof(uint64_t);
    snprintf(name, sizeof(name), "stats.arenas.%u.small.nmalloc", arena);
    if (mallctl(name, &small, &s, NULL, 0) != 0) small = 0;
    s = sizeof(uint64_t);
    snprintf(name, sizeof(name), "stats.arenas.%u.large.nmalloc", arena);
    if (mallctl(name, &large, &s, NULL, 0) != 0) large = 0;
    return small + large;
}

/// Bytes ever allocated by the calling thread through jemalloc (every malloc, calloc,
/// realloc, posix_memalign, mallocx…, from any library), or 0 without statistics.
static inline uint64_t tg_thread_allocated_bytes(void) {
    uint64_t value = 0;
    size_t size = sizeof(value);
    if (mallctl("thread.allocated", &value, &size, NULL, 0) != 0) return 0;
    return value;
}

#endif
