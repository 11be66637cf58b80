import Foundation
import Testing
import TestSupport

@Suite("The shared libraries dray loads")
struct LibraryLoadingCLITests {
    /// The loader's `LD_DEBUG=files` log names every shared object it opens.
    private func loaderLog(_ args: [String]) throws -> String {
        let result = try Dray.run(args, extraEnvironment: ["LD_DEBUG": "files"])
        #expect(result.status == 0, "\(args): \(result.stderr.suffix(500))")
        return result.stderr
    }

    /// libcurl (and the 25 libraries it brings) is opened by the first transfer, not at start-up.
    @Test("a run without HTTP never opens libcurl; one that needs it does")
    func curlOnFirstUse() throws {
        let dir = try TemporaryDirectory()
        let empty = dir.path + "/empty.txt"
        FileManager.default.createFile(atPath: empty, contents: Data())
        let idle = try loaderLog(["mirror", "-f", empty, "-d", "127.0.0.1:9", "-o", dir.path + "/failed.txt"])
        #expect(idle.contains("file=libcrypto.so.3"), "the log lists what the loader opens")
        #expect(!idle.contains("libcurl.so"), "an empty mirror opened libcurl")
        #expect(!idle.contains("libgnutls"))
        #expect(try loaderLog(["version"]).contains("file=libcurl.so.4"))
    }

    /// The loader binds GnuTLS's `_gnutls_global_init_skip` hook to dray's definition, so GnuTLS (loaded with
    /// libcurl by its libldap and librtmp, never used) does not initialise itself. `dray version` loads libcurl.
    @Test("the loader binds GnuTLS's hook to dray")
    func hookBound() throws {
        let result = try Dray.run(["version"], extraEnvironment: ["LD_DEBUG": "bindings"])
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
