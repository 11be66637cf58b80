#ifndef DRAY_COPENSSL_SHIM_H
#define DRAY_COPENSSL_SHIM_H
/* OpenSSL libcrypto/libssl. Function-like macros get inline wrappers here. */
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>

static inline const EVP_MD *dray_EVP_sha256(void) { return EVP_sha256(); }
static inline const EVP_MD *dray_EVP_sha512(void) { return EVP_sha512(); }
static inline long dray_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline void dray_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int dray_X509_set_version(X509 *x, long v) { return X509_set_version(x, v); }
static inline X509_NAME *dray_X509_get_subject_name(X509 *x) { return X509_get_subject_name(x); }
static inline int dray_EVP_PKEY_CTX_set_ec_paramgen_curve_nid(EVP_PKEY_CTX *ctx, int nid) {
    return EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, nid);
}
static inline EVP_PKEY *dray_EVP_EC_gen_p256(void) { return EVP_EC_gen("P-256"); }
static inline int dray_EVP_PKEY_EC(void) { return EVP_PKEY_EC; }
#endif
