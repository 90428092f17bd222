#ifndef TAPEGRAD_RUNTIME_H
#define TAPEGRAD_RUNTIME_H

/// The calling thread's TapeGrad engine (an `Engine` in arena memory), or NULL before first use.
void *_Nullable tg_current_engine(void);

/// Sets the calling thread's TapeGrad engine.
void tg_set_current_engine(void *_Nullable engine);

#endif
