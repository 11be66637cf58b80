import Foundation
import Testing

@Suite("GnuTLS's start-up initialisation is skipped")
struct GnuTLSStartupCLITests {
    /// The loader binds GnuTLS's `_gnutls_global_init_skip` hook to dray's definition, so GnuTLS (loaded by
    /// libcurl's libldap and librtmp, never used) does not initialise itself in every run.
    @Test("the loader binds GnuTLS's hook to dray")
    func hookBound() throws {
        let result = try Dray.run(["--version"], extraEnvironment: ["LD_DEBUG": "bindings"])
        #expect(result.status == 0)
        let bindings = result.stderr.split(separator: "\n").filter { $0.contains("`_gnutls_global_init_skip'") }
        // A libcurl without GnuTLS underneath has nothing to skip.
        guard result.stderr.contains("libgnutls") else { return }
        #expect(bindings.count == 1, "GnuTLS's hook bound once")
        // "binding file …/libgnutls.so.30 [0] to …/dray [0]: normal symbol `_gnutls_global_init_skip' [GNUTLS_3_4]"
        let targets = bindings.compactMap { $0.split(separator: " to ").last?.split(separator: " ").first }
        #expect(targets.count == 1 && targets.allSatisfy { $0.hasSuffix("/dray") || $0 == "dray" },
                "bound to dray, not to GnuTLS's own weak definition: \(bindings)")
    }
}
