#include "CJemalloc.h"

#include <malloc.h>
#include <string.h>

void *tg_system_allocate(size_t size, size_t alignment) {
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    void *pointer = NULL;
    if (posix_memalign(&pointer, alignment, size == 0 ? 1 : size) != 0) return NULL;
    return pointer;
}

void *tg_system_reallocate(void *pointer, size_t size, size_t alignment) {
    // realloc keeps only malloc's alignment (16 bytes), so move by hand: a new aligned block,
    // the old contents (as much of them as fits), then the old block freed.
    size_t old = malloc_usable_size(pointer);
    void *moved = tg_system_allocate(size, alignment);
    if (moved == NULL) return NULL;
    memcpy(moved, pointer, old < size ? old : size);
    free(pointer);
    return moved;
}
