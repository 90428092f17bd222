#ifndef TAPEGRAD_RUNTIME_H
#define TAPEGRAD_RUNTIME_H

/// The calling thread's TapeGrad engine (an `Engine` in arena memory), or NULL before first
/// use. Defined once, in runtime.c; read through the inline accessor below so that the hot
/// path is a single thread-local load.
extern _Thread_local void *_Nullable tg_engine_slot;

/// The calling thread's TapeGrad engine, or NULL before first use.
static inline void *_Nullable tg_current_engine(void) { return tg_engine_slot; }

/// Sets the calling thread's TapeGrad engine.
void tg_set_current_engine(void *_Nullable engine);



/// The calling thread's stack as text, one frame a line, skipping `skip` innermost frames;
/// the caller frees the result with `free`. Used by anomaly mode to tell where an op was made.
char *_Nullable tg_stack_trace(int skip);
#endif
