/// Tells GnuTLS not to initialise itself when the process starts (0.8 MB of resident memory at rest).
///
/// dray's libcurl speaks TLS through OpenSSL, but Debian's libcurl also links libldap and librtmp, which load
/// GnuTLS, and GnuTLS's library constructor initialises it (its ASN.1 trees, random generator, crypto tables)
/// in every process before `main`, unless the application defines this weak, exported hook and it returns
/// non-zero. Nothing dray runs uses GnuTLS without initialising it explicitly: its transfers are limited to
/// HTTP(S) (`CURLOPT_PROTOCOLS_STR`), libldap calls `gnutls_global_init` before its first TLS session, and so
/// does a libcurl built on GnuTLS (from `curl_global_init`). Release builds export the symbol
/// (`--export-dynamic-symbol` in `Package.swift`) so that the loader binds GnuTLS's call to it.
@_cdecl("_gnutls_global_init_skip")
public func gnutlsGlobalInitSkip() -> Int32 { 1 }
