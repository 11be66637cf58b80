#ifndef DRAY_CCURL_SHIM_H
#define DRAY_CCURL_SHIM_H
/* Typed wrappers over libcurl's variadic setopt/getinfo, which Swift cannot call directly. */
#include <curl/curl.h>

static inline CURLcode dray_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_blob(CURL *h, CURLoption o, struct curl_blob *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*dray_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode dray_curl_easy_setopt_datafn(CURL *h, CURLoption o, dray_curl_data_cb f) { return curl_easy_setopt(h, o, f); }

static inline CURLcode dray_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode dray_curl_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode dray_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode dray_curl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode dray_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/* Macro constants that Swift does not import as values. */
static inline const char *dray_curl_version_string(void) { return curl_version_info(CURLVERSION_NOW)->version; }
static const size_t dray_CURL_WRITEFUNC_PAUSE = CURL_WRITEFUNC_PAUSE;
static const size_t dray_CURL_READFUNC_PAUSE = CURL_READFUNC_PAUSE;
static const size_t dray_CURL_READFUNC_ABORT = CURL_READFUNC_ABORT;
static const int dray_CURLPAUSE_CONT = CURLPAUSE_CONT;
static const long dray_CURL_GLOBAL_DEFAULT = CURL_GLOBAL_DEFAULT;
static const long dray_CURL_HTTP_VERSION_2TLS = CURL_HTTP_VERSION_2TLS;
static const long dray_CURL_HTTP_VERSION_1_1 = CURL_HTTP_VERSION_1_1;

#endif
