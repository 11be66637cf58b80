#ifndef DRAY_CZLIB_SHIM_H
#define DRAY_CZLIB_SHIM_H
/* zlib; deflateInit2/inflateInit2 are macros, so they get wrappers. */
#include <zlib.h>
static inline int dray_deflateInit2(z_streamp s, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2(s, level, method, windowBits, memLevel, strategy);
}
static inline int dray_inflateInit2(z_streamp s, int windowBits) { return inflateInit2(s, windowBits); }
#endif
