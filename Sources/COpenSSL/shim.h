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
/* Sigstore certificates, RFC 3161 timestamps and SCTs. */
#include <openssl/ts.h>
#include <openssl/ct.h>
#include <openssl/pkcs7.h>
static inline STACK_OF(X509) *dray_sk_X509_new(void) { return sk_X509_new_null(); }
static inline int dray_sk_X509_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline void dray_sk_X509_free(STACK_OF(X509) *s) { sk_X509_free(s); }
static inline int dray_sk_X509_num(const STACK_OF(X509) *s) { return sk_X509_num(s); }
static inline X509 *dray_sk_X509_value(const STACK_OF(X509) *s, int i) { return sk_X509_value(s, i); }
static inline void dray_sk_GENERAL_NAME_pop_free(GENERAL_NAMES *s) { sk_GENERAL_NAME_pop_free(s, GENERAL_NAME_free); }
static inline int dray_sk_GENERAL_NAME_num(const GENERAL_NAMES *s) { return sk_GENERAL_NAME_num(s); }
static inline GENERAL_NAME *dray_sk_GENERAL_NAME_value(const GENERAL_NAMES *s, int i) { return sk_GENERAL_NAME_value(s, i); }
static inline void dray_SCT_LIST_free(STACK_OF(SCT) *s) { SCT_LIST_free(s); }
static inline int dray_sk_SCT_num(const STACK_OF(SCT) *s) { return sk_SCT_num(s); }
static inline SCT *dray_sk_SCT_value(const STACK_OF(SCT) *s, int i) { return sk_SCT_value(s, i); }
#endif
