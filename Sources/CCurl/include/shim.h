#ifndef DRAY_CCURL_SHIM_H
#define DRAY_CCURL_SHIM_H
/* libcurl, loaded on first use, and typed wrappers over its variadic setopt/getinfo, which Swift cannot call.
 *
 * dray does not link libcurl: it loads it (dlopen) when the first transfer is prepared. Debian's libcurl brings
 * 25 libraries (GnuTLS, Kerberos, LDAP, RTMP, SSH, p11-kit ...) whose loading and relocation cost about 4 MB of
 * resident memory in every process, including the runs that make no HTTP request (an empty list, help,
 * compress, decompress). Swift calls libcurl only through the `dray_curl_*` functions below, after `dray_curl_load()`
 * succeeded; a direct `curl_*` call from Swift fails to link, since nothing provides the symbol.
 */
#include <curl/curl.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/* The libcurl functions dray calls, resolved from the loaded library. */
typedef struct dray_curl_api {
    CURLcode (*global_init)(long flags);
    curl_version_info_data *(*version_info)(CURLversion);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
} dray_curl_api;

/* The resolved functions, filled by a successful dray_curl_load() (loader.c). */
extern dray_curl_api dray_curl_table;

/* Loads and initialises libcurl once (thread-safe); NULL when ready, else why it cannot be used. */
const char *dray_curl_load(void);

/* The calls Swift makes; each requires a successful dray_curl_load() before. */
static inline CURL *dray_curl_easy_init(void) { return dray_curl_table.easy_init(); }
static inline void dray_curl_easy_cleanup(CURL *h) { dray_curl_table.easy_cleanup(h); }
static inline CURLcode dray_curl_easy_pause(CURL *h, int bitmask) { return dray_curl_table.easy_pause(h, bitmask); }
static inline const char *dray_curl_easy_strerror(CURLcode code) { return dray_curl_table.easy_strerror(code); }
static inline struct curl_slist *dray_curl_slist_append(struct curl_slist *l, const char *s) { return dray_curl_table.slist_append(l, s); }
static inline void dray_curl_slist_free_all(struct curl_slist *l) { dray_curl_table.slist_free_all(l); }
static inline CURLM *dray_curl_multi_init(void) { return dray_curl_table.multi_init(); }
static inline CURLMcode dray_curl_multi_add_handle(CURLM *m, CURL *h) { return dray_curl_table.multi_add_handle(m, h); }
static inline CURLMcode dray_curl_multi_remove_handle(CURLM *m, CURL *h) { return dray_curl_table.multi_remove_handle(m, h); }
static inline CURLMcode dray_curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running) { return dray_curl_table.multi_socket_action(m, s, ev, running); }
static inline CURLMsg *dray_curl_multi_info_read(CURLM *m, int *left) { return dray_curl_table.multi_info_read(m, left); }

static inline CURLcode dray_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return dray_curl_table.easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return dray_curl_table.easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return dray_curl_table.easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return dray_curl_table.easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return dray_curl_table.easy_setopt(h, o, v); }
static inline CURLcode dray_curl_easy_setopt_blob(CURL *h, CURLoption o, struct curl_blob *v) { return dray_curl_table.easy_setopt(h, o, v); }

typedef size_t (*dray_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode dray_curl_easy_setopt_datafn(CURL *h, CURLoption o, dray_curl_data_cb f) { return dray_curl_table.easy_setopt(h, o, f); }
/* The seek callback curl calls to rewind a request body before sending it again (a reused connection died). */
typedef int (*dray_curl_seek_cb)(void *userdata, curl_off_t offset, int origin);
static inline CURLcode dray_curl_easy_setopt_seekfn(CURL *h, dray_curl_seek_cb f) { return dray_curl_table.easy_setopt(h, CURLOPT_SEEKFUNCTION, f); }

static inline CURLcode dray_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return dray_curl_table.easy_getinfo(h, i, v); }
static inline CURLcode dray_curl_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return dray_curl_table.easy_getinfo(h, i, v); }
static inline CURLcode dray_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return dray_curl_table.easy_getinfo(h, i, v); }
static inline CURLcode dray_curl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return dray_curl_table.easy_getinfo(h, i, v); }

static inline CURLMcode dray_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return dray_curl_table.multi_setopt(m, o, v); }
static inline CURLMcode dray_curl_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) { return dray_curl_table.multi_setopt(m, o, v); }

/* The event-driven interface (curl_multi_socket_action): curl says which sockets to watch and when to time out. */
typedef int (*dray_curl_socket_cb)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*dray_curl_timer_cb)(CURLM *multi, long timeout_ms, void *userp);
static inline CURLMcode dray_curl_multi_setopt_socketfn(CURLM *m, dray_curl_socket_cb f) { return dray_curl_table.multi_setopt(m, CURLMOPT_SOCKETFUNCTION, f); }
static inline CURLMcode dray_curl_multi_setopt_timerfn(CURLM *m, dray_curl_timer_cb f) { return dray_curl_table.multi_setopt(m, CURLMOPT_TIMERFUNCTION, f); }
static const int dray_CURL_SOCKET_TIMEOUT = CURL_SOCKET_TIMEOUT;
static const int dray_CURL_POLL_IN = CURL_POLL_IN;
static const int dray_CURL_POLL_OUT = CURL_POLL_OUT;
static const int dray_CURL_POLL_REMOVE = CURL_POLL_REMOVE;

/* Macro constants that Swift does not import as values. */
static inline const char *dray_curl_version_string(void) { return dray_curl_table.version_info(CURLVERSION_NOW)->version; }
static const size_t dray_CURL_WRITEFUNC_PAUSE = CURL_WRITEFUNC_PAUSE;
static const size_t dray_CURL_READFUNC_PAUSE = CURL_READFUNC_PAUSE;
static const size_t dray_CURL_READFUNC_ABORT = CURL_READFUNC_ABORT;
static const int dray_CURL_SEEKFUNC_OK = CURL_SEEKFUNC_OK;
static const int dray_CURL_SEEKFUNC_CANTSEEK = CURL_SEEKFUNC_CANTSEEK;
static const int dray_CURLPAUSE_CONT = CURLPAUSE_CONT;
static const long dray_CURL_HTTP_VERSION_2TLS = CURL_HTTP_VERSION_2TLS;
static const long dray_CURL_HTTP_VERSION_1_1 = CURL_HTTP_VERSION_1_1;

/* epoll and eventfd for the loop that drives curl (Glibc's Swift module does not export them). */
static inline int dray_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int dray_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
/* Watches fd for reading and/or writing (add, or change when already watched). */
static inline int dray_epoll_watch(int ep, int fd, int in, int out, int modify) {
    struct epoll_event ev;
    ev.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);
    ev.data.fd = fd;
    return epoll_ctl(ep, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
}
static inline int dray_epoll_unwatch(int ep, int fd) { return epoll_ctl(ep, EPOLL_CTL_DEL, fd, 0); }
/* Waits for up to `max` events; fds[i] and flags[i] (CURL_CSELECT_*) describe each. */
static inline int dray_epoll_wait(int ep, int *fds, int *flags, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(ep, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = evs[i].data.fd;
        flags[i] = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                 | ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
    }
    return n;
}

#endif
