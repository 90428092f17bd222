#ifndef TAPEGRAD_RUNTIME_H
#define TAPEGRAD_RUNTIME_H

/// The calling thread's TapeGrad engine (an `Engine` in arena memory), or NULL before first
/// use. Defined once, in runtime.c; read through the inline accessor below so that the hot
/// path is a single thread-local load.
extern _Thread_local void *_Nullable tg_engine_slot;

/// The calling thread's TapeGrad engine, or NULL before first use.
static inline void *_Nullable tg_current_engine(void) { return tg_engine_slot; }

/// Sets the calling thread's TapeGrad engine; when the thread ends, `destroy` is called with
/// it (from a pthread key destructor, after the thread-local pointer has been cleared).
/// The main thread's engine is never destroyed (exit() runs no key destructors).
void tg_set_current_engine(void *_Nullable engine, void (*_Nullable destroy)(void *_Nonnull));

/// A process-wide counter, one value per call (0, 1, 2, …): engines take their tag from it.
unsigned tg_next_engine_id(void);


/// The calling thread's stack as text, one frame a line, skipping `skip` innermost frames;
/// the caller frees the result with `free`. Used by anomaly mode to tell where an op was made.
char *_Nullable tg_stack_trace(int skip);
#endif
