#ifndef TAPEGRAD_COPENBLAS_SHIM_H
#define TAPEGRAD_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
