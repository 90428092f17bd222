#include "CTapeGradRuntime.h"

#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// One engine per thread: Swift has no thread-local storage of its own, C11 does.
_Thread_local void *tg_engine_slot = 0;

// The engine is also the value of a pthread key, whose destructor frees it when its thread
// ends (C11 thread-locals have no destructors). The main thread's engine is never freed:
// exit() runs no key destructors.
static pthread_key_t tg_engine_key;
static pthread_once_t tg_engine_key_once = PTHREAD_ONCE_INIT;
static void (*_Atomic tg_engine_destroy)(void *) = 0;

static void tg_engine_thread_exit(void *engine) {
    // Forget the engine first: anything the teardown runs that uses TapeGrad again makes a
    // new engine (freed by the key's next destructor round) instead of reaching a freed one.
    if (tg_engine_slot == engine) tg_engine_slot = 0;
    void (*destroy)(void *) = atomic_load(&tg_engine_destroy);
    if (destroy) destroy(engine);
}

static void tg_make_engine_key(void) {
    if (pthread_key_create(&tg_engine_key, tg_engine_thread_exit) != 0) abort();
}

void tg_set_current_engine(void *engine, void (*destroy)(void *)) {
    pthread_once(&tg_engine_key_once, tg_make_engine_key);
    if (destroy) atomic_store(&tg_engine_destroy, destroy);
    tg_engine_slot = engine;
    pthread_setspecific(tg_engine_key, engine);
}

static _Atomic unsigned tg_engine_counter = 0;

unsigned tg_next_engine_id(void) { return atomic_fetch_add(&tg_engine_counter, 1); }

char *tg_stack_trace(int skip) {
    void *frames[48];
    int count = backtrace(frames, 48);
    char **symbols = backtrace_symbols(frames, count);
    if (!symbols) return 0;
    size_t length = 1;
    for (int i = skip; i < count; i++) length += strlen(symbols[i]) + 3;
    char *text = malloc(length);
    if (!text) { free(symbols); return 0; }
    text[0] = 0;
    for (int i = skip; i < count; i++) {
        strcat(text, "  ");
        strcat(text, symbols[i]);
        strcat(text, "\n");
    }
    free(symbols);
    return text;
}
