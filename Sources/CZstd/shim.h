#ifndef DRAY_CZSTD_SHIM_H
#define DRAY_CZSTD_SHIM_H
/* libzstd streaming API (multithreaded compression through ZSTD_c_nbWorkers). */

#include <zstd.h>
static inline int dray_ZSTD_isError(size_t code) { return (int)ZSTD_isError(code); }
#endif
