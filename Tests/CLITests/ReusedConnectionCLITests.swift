import Engine
import Foundation
import Synchronization
import Testing
import TestSupport
import Transports

/// A kept-alive connection that the server (or an idle-timeout proxy in front of it) closes just as an upload
/// goes out on it: every request with a body must be sent again on a new connection, in every command that
/// writes to a registry.
@Suite("Uploads on a reused connection the server closed are sent again", .serialized)
struct ReusedConnectionCLITests {
    /// What the destination's proxy closes: the kinds of upload requests, each the first few times it arrives
    /// on a reused connection.
    final class Closer: Sendable {
        enum Kind: String, CaseIterable, Sendable { case manifestPut = "manifest PUT", blobPut = "blob PUT", patch = "PATCH" }
        private let closed = Mutex<[Kind: Int]>([:])
        private let refusedMonolithic = Mutex(false)
        /// Refuse the first monolithic PUT with 405, so the client learns to upload in chunks (PATCHes, then a
        /// closing PUT).
        let chunked: Bool
        let perKind: Int

        init(chunked: Bool, perKind: Int = 2) {
            self.chunked = chunked
            self.perKind = perKind
        }

        func kind(of x: FaultProxy.Exchange) -> Kind? {
            if x.isManifest && x.method == "PUT" { return .manifestPut }
            if x.isUpload && x.method == "PUT" { return .blobPut }
            if x.isUpload && x.method == "PATCH" { return .patch }
            return nil
        }

        var rule: FaultProxy.Rule {
            { [self] x in
                if chunked, x.isUpload, x.method == "PUT", refusedMonolithic.withLock({ r in defer { r = true }; return !r }) {
                    return .status(405)
                }
                guard x.onConnection > 1, let k = kind(of: x) else { return .pass }
                return closed.withLock { c in
                    guard c[k, default: 0] < perKind else { return .pass }
                    c[k, default: 0] += 1
                    return .close
                }
            }
        }

        /// How many requests of each kind were closed on.
        var counts: [Kind: Int] { closed.withLock { $0 } }

        /// The kinds this run must have closed on: chunked uploads have PATCHes, and a monolithic run's blob
        /// PUTs carry the blob.
        var expected: [Kind] { chunked ? Kind.allCases : [.manifestPut, .blobPut] }
    }

    static let commands = ["mirror", "copy", "load"]

    @Test("mirror, copy and load complete when manifest PUTs, blob PUTs and PATCHes meet a closed connection",
          arguments: commands, [false, true])
    func closedOnUpload(command: String, chunked: Bool) async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let closer = Closer(chunked: chunked)
        let proxy = try FaultProxy(target: b.port, rule: closer.rule)
        let corpus = try await FaultCLITests.seed(a, via: a.host, count: 3, seed: chunked ? 210 : 230)
        let dir = try TemporaryDirectory()
        let label = "\(command), \(chunked ? "chunked" : "monolithic")"
        // One run of the command; --retries 1 so a failure the client does not treat as temporary fails the image.
        let result: (status: Int32, stderr: String)
        switch command {
        case "mirror":
            try corpus.list.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
            let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", proxy.host, "--all", "-j", "2",
                                  "--retries", "1", "-o", dir.file("failed.txt")])
            result = (r.status, r.stderr)
        case "copy":
            var status: Int32 = 0, stderr = ""
            for image in corpus.images {
                let r = try Dray.run(["copy", "--all", "--retries", "1", "docker://\(a.host)/\(image.name):\(image.tag)",
                                      "docker://\(proxy.host)/\(image.name):\(image.tag)"])
                if r.status != 0 { status = r.status; stderr += r.stderr }
            }
            result = (status, stderr)
        default:
            try corpus.list.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
            let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("images.tar.gz"), "--all",
                                     "--cache", dir.file("cache"), "-o", dir.file("save-failed.txt")])
            try #require(save.status == 0, "\(save.stderr.suffix(2000))")
            let r = try Dray.run(["load", "--all", "-s", dir.file("images.tar.gz"), "-d", proxy.host, "-j", "2",
                                  "--retries", "1", "-o", dir.file("load-failed.txt")])
            result = (r.status, r.stderr)
        }
        #expect(result.status == 0, "\(label): exit \(result.status)\n\(result.stderr.suffix(3000))")
        #expect(!result.stderr.contains("rewind"), "\(label)")
        let counts = closer.counts
        for kind in closer.expected {
            #expect(counts[kind, default: 0] > 0, "\(label): no \(kind.rawValue) met a closed connection (\(counts))")
        }
        let client = RegistryClient(registry: b.host, options: FaultCLITests.noAuth)
        for image in corpus.images {
            #expect(await FaultCLITests.complete(image, at: client), "\(label): \(image.name) is incomplete at the destination")
        }
    }
}
