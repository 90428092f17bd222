#ifndef TAPEGRAD_CJEMALLOC_FALLBACK_H
#define TAPEGRAD_CJEMALLOC_FALLBACK_H

/// The CJemalloc module without jemalloc, for a build with TAPEGRAD_SYSTEM_ALLOCATOR=1
/// (Package.swift): the functions Sources/CJemalloc/shim.h gives TapeGrad, implemented on the
/// C library's allocator (posix_memalign, free), so that the process has one allocator — the
/// one a sanitizer installs. Allocations keep their alignment; there is no private arena and
/// no statistics: every counter reads 0, and `tg_allocator_is_jemalloc` says so.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/// Allocates `size` bytes aligned to `alignment` (a power of two), or returns NULL.
void *_Nullable tg_system_allocate(size_t size, size_t alignment);

/// Moves an allocation of `tg_system_allocate` to `size` bytes aligned to `alignment`, keeping
/// its contents; returns NULL, leaving `pointer` as it was, when out of memory.
void *_Nullable tg_system_reallocate(void *_Nonnull pointer, size_t size, size_t alignment);

/// 0: this build's CJemalloc is the fallback on the system allocator (1 in shim.h).
static inline int tg_allocator_is_jemalloc(void) { return 0; }

/// The flags of mallocx, rallocx and dallocx below: the base-2 logarithm of the alignment
/// (the arena has no meaning here).
static inline int tg_arena_flags(unsigned arena, size_t alignment) {
    (void)arena;
    return alignment > 1 ? __builtin_ctzl((unsigned long)alignment) : 0;
}

static inline void *_Nullable mallocx(size_t size, int flags) {
    return tg_system_allocate(size, (size_t)1 << flags);
}

static inline void *_Nullable rallocx(void *_Nonnull pointer, size_t size, int flags) {
    return tg_system_reallocate(pointer, size, (size_t)1 << flags);
}

static inline void dallocx(void *_Nonnull pointer, int flags) {
    (void)flags;
    free(pointer);
}

/// As in shim.h: `madvise(MADV_HUGEPAGE)`, a no-op where the kernel lacks THP.
static inline void tg_advise_huge_pages(void *_Nonnull pointer, size_t bytes) {
#ifdef MADV_HUGEPAGE
    (void)madvise(pointer, bytes, MADV_HUGEPAGE);
#else
    (void)pointer; (void)bytes;
#endif
}

/// There is no arena to create: always 0.
static inline unsigned tg_arena_create(void) { return 0; }

/// No statistics without jemalloc: 0.
static inline size_t tg_arena_allocated_bytes(unsigned arena) { (void)arena; return 0; }

/// No statistics without jemalloc: 0.
static inline uint64_t tg_arena_allocation_count(unsigned arena) { (void)arena; return 0; }

/// No statistics without jemalloc: 0.
static inline uint64_t tg_thread_allocated_bytes(void) { return 0; }

#endif
