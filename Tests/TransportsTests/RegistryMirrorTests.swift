import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("RegistryMirror: the library entry point")
struct RegistryMirrorTests {
    @Test("a Swift caller mirrors a multi-platform image and a renamed one, gets events and per-image results; a missing image fails alone")
    func embedded() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))
        let tree = try SyntheticImage.index(layers: 1, layerSize: 5000, seed: 4500)
        let source = RegistryClient(registry: a.host, options: noAuth)
        try await SyntheticImage.push(tree, to: source, repository: "lib/app", tag: "2.1")
        // What is attached travels through the library as through the CLI.
        let bundle = try AttachmentFixtures.bundle(of: tree.top)
        try await AttachmentFixtures.pushReferrer(bundle, subject: tree.top.digest, to: source, repository: "lib/app")
        var options = MirrorOptions()
        options.jobs = 2
        let mirror = RegistryMirror(options: options, source: noAuth, destination: noAuth)
        let finished = Counter()
        let results = try await mirror.mirror([
            ("\(a.host)/lib/app:2.1", "\(b.host)/copy/app"),
            ("\(a.host)/lib/app:2.1", "\(b.host)/renamed/app:stable"),
            ("\(a.host)/lib/missing:1", "\(b.host)/copy/missing"),
        ]) { event in if case .finished = event { finished.add() } }
        #expect(results.map(\.status) == [.copied, .copied, .failed])
        #expect(finished.value == 3)
        let dst = mirror.client(b.host, source: false)
        #expect(try await dst.manifest("copy/app", .tag("2.1")).digest == tree.top.digest)
        #expect(try await dst.manifest("renamed/app", .tag("stable")).digest == tree.top.digest)
        #expect(try await AttachmentFixtures.fallbackList(dst, "renamed/app", tree.top.digest) == [bundle.manifest.digest])
        #expect(results[1].attachments?.map(\.status) == [.copied])
        #expect(results[2].error?.contains("lib/missing") == true, "\(results[2].error ?? "")")
        await #expect(throws: ReferenceError.self) { _ = try await mirror.mirror([("UPPER/Case:1", "\(b.host)/x")]) }
    }
}

extension RegistryMirrorTests {
    @Test("the library takes registry profiles: a file's maxConnections holds at the registry, and what is learned is shared by both sides")
    func profiles() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let proxy = try FaultProxy(target: b.port)
        let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))
        let source = RegistryClient(registry: a.host, options: noAuth)
        var pairs: [(String, String)] = []
        for i in 0..<6 {
            let tree = try SyntheticImage.index(layers: 2, layerSize: 20_000, seed: UInt64(4600 + i))
            try await SyntheticImage.push(tree, to: source, repository: "lib/p\(i)", tag: "1")
            pairs.append(("\(a.host)/lib/p\(i):1", "\(proxy.host)/copy/p\(i)"))
        }
        let file = try RegistryProfileFile.parse("registries:\n  \"\(proxy.host)\":\n    maxConnections: 2\n", path: "inline.yaml")
        var options = MirrorOptions()
        options.jobs = 6
        let mirror = RegistryMirror(options: options, source: noAuth, destination: noAuth, profiles: RegistryProfiles(file: file))
        let results = try await mirror.mirror(pairs)
        #expect(results.allSatisfy { $0.status == .copied }, "\(results.compactMap(\.error))")
        #expect(proxy.maxInFlight <= 2 && proxy.requests > 20, "\(proxy.maxInFlight) in flight of \(proxy.requests)")
        #expect(mirror.client(proxy.host, source: false).learned === mirror.client(proxy.host, source: true).learned)
    }
}

/// A thread-safe counter for event callbacks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
