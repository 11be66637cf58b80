import Engine
import Foundation
import Synchronization
import Testing
import TestSupport
import Transports

/// Docker schema 1: read (inspect) with the digest registries and skopeo compute, refused by copies with a plain
/// message. The registry here is an imitation: Debian's distribution build does not serve schema 1 by default.
@Suite("Docker schema 1: canonical digest on inspect, a clear refusal on copy")
struct Schema1CLITests {
    @Test("inspect shows the payload digest (skopeo's) though each GET is signed anew; mirror and copy say schema 1 is not supported")
    func schema1() async throws {
        let layer = "sha256:" + String(repeating: "ab", count: 32)
        let payload = Schema1Manifest.payload(name: "old/app", tag: "1", layer: layer)
        let digest = Digest.sha256(of: payload)
        let dir = try TemporaryDirectory()
        let key = try Schema1Manifest.Key.generate(in: dir.path)
        let gets = Mutex(0)
        let registry = try MiniHTTPServer { req in
            if req.path == "/v2/" { return .init(status: 200) }
            guard req.path == "/v2/old/app/manifests/1" || req.path == "/v2/old/app/manifests/\(digest)" else {
                return .init(status: 404)
            }
            let n = gets.withLock { $0 += 1; return $0 }
            let body = Schema1Manifest.signed(payload, key: key, nonce: n)
            return .init(status: 200, headers: [("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"),
                                                ("Docker-Content-Digest", digest.description),
                                                ("Content-Length", "\(body.count)")],
                         body: req.method == "HEAD" ? [] : body)
        }

        // Independent check: skopeo computes the same digest from a signed copy.
        let signed = Schema1Manifest.signed(payload, key: key, nonce: 99)
        #expect(Digest.sha256(of: signed) != digest)
        try Data(signed).write(to: URL(fileURLWithPath: dir.file("m.json")))
        let sk = try Shell.run("skopeo", ["manifest-digest", dir.file("m.json")])
        #expect(sk.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == digest.description, "\(sk.stderr)")

        let summary = try Dray.run(["inspect", "\(registry.host)/old/app:1"])
        #expect(summary.status == 0 && summary.stdoutText.contains("Digest:     \(digest)"), "\(summary.stdoutText)\(summary.stderr)")
        let byDigest = try Dray.run(["inspect", "--raw", "\(registry.host)/old/app@\(digest)"])
        #expect(byDigest.status == 0, "\(byDigest.stderr)")
        #expect(RawManifestDigest.of(Array(byDigest.stdout)) == digest)

        try "\(registry.host)/old/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let mirror = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", "127.0.0.1:1", "--skip-login",
                                   "-o", dir.file("failed.txt")])
        #expect(mirror.status == 1 && mirror.stderr.contains("schema 1 is not supported"), "\(mirror.stderr)")
        #expect(!mirror.stderr.contains("digest mismatch"))
        let copy = try Dray.run(["copy", "docker://\(registry.host)/old/app:1", "oci:\(dir.file("layout")):x"])
        #expect(copy.status != 0 && copy.stderr.contains("schema 1 is not supported"), "\(copy.stderr)")
    }
}

/// The digest dray gives manifest bytes (the payload digest for signed schema 1).
enum RawManifestDigest {
    static func of(_ bytes: [UInt8]) -> Digest? {
        try? RawManifest(bytes: bytes, mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws").digest
    }
}
