#ifndef DRAY_CSODIUM_SHIM_H
#define DRAY_CSODIUM_SHIM_H
/* libsodium: crypto_secretbox (XSalsa20-Poly1305), the box cosign's encrypted key files use. */

#include <sodium.h>
#endif
