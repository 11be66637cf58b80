/* Loads libcurl on first use and resolves the functions dray calls (see include/shim.h). */
#include "shim.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The shared object dray loads: libcurl's ABI has had this soname since 2006. */
#define DRAY_LIBCURL_SONAME "libcurl.so.4"

dray_curl_api dray_curl_table;
/* Why loading failed (the loader's message), when it did. */
static char failure[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void) {
    void *lib = dlopen(DRAY_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "cannot load %s: %s", DRAY_LIBCURL_SONAME, why ? why : "unknown error");
        return;
    }
    dray_curl_api t;
    const char *missing = NULL;
#define SYMBOL(field, name) \
    if (!missing && !(*(void **)&t.field = dlsym(lib, #name))) missing = #name;
    SYMBOL(global_init, curl_global_init)
    SYMBOL(version_info, curl_version_info)
    SYMBOL(easy_init, curl_easy_init)
    SYMBOL(easy_cleanup, curl_easy_cleanup)
    SYMBOL(easy_setopt, curl_easy_setopt)
    SYMBOL(easy_getinfo, curl_easy_getinfo)
    SYMBOL(easy_pause, curl_easy_pause)
    SYMBOL(easy_strerror, curl_easy_strerror)
    SYMBOL(slist_append, curl_slist_append)
    SYMBOL(slist_free_all, curl_slist_free_all)
    SYMBOL(multi_init, curl_multi_init)
    SYMBOL(multi_setopt, curl_multi_setopt)
    SYMBOL(multi_add_handle, curl_multi_add_handle)
    SYMBOL(multi_remove_handle, curl_multi_remove_handle)
    SYMBOL(multi_socket_action, curl_multi_socket_action)
    SYMBOL(multi_info_read, curl_multi_info_read)
#undef SYMBOL
    if (missing) {
        snprintf(failure, sizeof failure, "%s has no %s", DRAY_LIBCURL_SONAME, missing);
        return;
    }
    CURLcode code = t.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(failure, sizeof failure, "curl_global_init failed (code %d)", (int)code);
        return;
    }
    dray_curl_table = t;
}

const char *dray_curl_load(void) {
    pthread_once(&once, resolve);
    return dray_curl_table.easy_init ? NULL : failure;
}
