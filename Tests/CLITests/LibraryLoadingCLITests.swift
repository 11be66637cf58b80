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

    /// Without a loadable libcurl, a transfer fails with the loader's reason in one line, and commands that
    /// need no HTTP still work. The library is hidden in a mount namespace of the run's own (root only).
    @Test("a missing libcurl fails the transfer with one clear line", .enabled(if: getuid() == 0, "a mount namespace needs root"))
    func curlMissing() throws {
        let hide = "lib=$(ldconfig -p | awk '/libcurl\\.so\\.4 /{print $NF; exit}'); mount --bind /dev/null \"$(readlink -f \"$lib\")\" && exec \"$@\""
        let run = { (args: [String]) in
            try Shell.run("unshare", ["-m", "--propagation", "private", "sh", "-c", hide, "sh", Dray.path] + args,
                          environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent-dray-home"])
        }
        let copy = try run(["copy", "127.0.0.1:9/a:1", "127.0.0.1:9/b:1"])
        #expect(copy.status != 0)
        let errors = copy.stderr.split(separator: "\n").filter { $0.contains("libcurl.so.4") }
        #expect(errors.count == 1, "one line names the library: \(copy.stderr)")
        #expect(errors.first?.contains("cannot load libcurl.so.4") == true)
        let version = try run(["version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.contains("libcurl: cannot load libcurl.so.4"), "\(version.stdoutText)")
        #expect(version.stdoutText.hasPrefix("dray "))
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
