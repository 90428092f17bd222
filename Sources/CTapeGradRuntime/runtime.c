#include "CTapeGradRuntime.h"

#include <execinfo.h>
#include <stdlib.h>
#include <string.h>

// One engine per thread: Swift has no thread-local storage of its own, C11 does.
_Thread_local void *tg_engine_slot = 0;

void tg_set_current_engine(void *engine) { tg_engine_slot = engine; }

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
