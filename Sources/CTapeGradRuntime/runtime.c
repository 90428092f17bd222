#include "CTapeGradRuntime.h"

// One engine per thread: Swift has no thread-local storage of its own, C11 does.
static _Thread_local void *current_engine = 0;

void *tg_current_engine(void) { return current_engine; }

void tg_set_current_engine(void *engine) { current_engine = engine; }
