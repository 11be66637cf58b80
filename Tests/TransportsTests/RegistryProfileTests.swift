import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

@Suite("Registry profiles: the file, built-in kinds, and where each value comes from")
struct RegistryProfileTests {
    static let text = """
        # dray registries
        defaults:
          maxConnections: 16
        registries:
          harbor.example.com:
            kind: harbor
            upload: chunked
            chunkSize: 8MiB
            requestsPerSecond: 20/s
          "*.corp.example":
            tlsVerify: false
            blobCheck: get
          docker.io:
            rateLimitMin: 25
        """

    @Test("values resolve flags > file (exact, then wildcard, then defaults) > built-in kind, each with its origin")
    func resolution() throws {
        let file = try RegistryProfileFile.parse(Self.text, path: "r.yaml")
        var flags = RegistryProfile()
        flags.maxConnections = 2
        let profiles = RegistryProfiles(file: file, hostFlags: ["harbor.example.com": (flags, .flag("--max-connections"))])

        let harbor = profiles.resolve("harbor.example.com")
        #expect(harbor.profile.kind == .harbor)
        #expect(harbor.origins[.kind] == .file("r.yaml", line: 6))
        #expect(harbor.profile.upload == .chunked(chunkSize: 8 << 20))
        #expect(harbor.origins[.chunkSize] == .file("r.yaml", line: 8))
        #expect(harbor.profile.requestsPerSecond == 20)
        #expect(harbor.profile.maxConnections == 2)
        #expect(harbor.origins[.maxConnections] == .flag("--max-connections"))

        let corp = profiles.resolve("reg.corp.example:5000")
        #expect(corp.profile.tlsVerify == false && corp.profile.blobCheck == .get)
        #expect(corp.profile.maxConnections == 16)
        #expect(corp.origins[.maxConnections] == .file("r.yaml", line: 3))

        let hub = profiles.resolve("docker.io")
        #expect(hub.profile.kind == .dockerhub && hub.origins[.kind] == .builtIn(.dockerhub))
        #expect(hub.profile.apiHost == "registry-1.docker.io")
        #expect(hub.profile.rateLimitMin == 25)

        #expect(profiles.resolve("europe-docker.pkg.dev").profile.upload == .monolithic)
        #expect(profiles.resolve("quay.io").profile.tagPageSize == 100)
        #expect(profiles.resolve("123456789012.dkr.ecr.eu-west-1.amazonaws.com").profile.kind == .ecr)
        #expect(profiles.resolve("127.0.0.1:5000").profile.kind == nil)
    }

    @Test("bad YAML, unknown keys and bad values are refused with the file and line")
    func refusals() {
        func refusal(_ text: String) -> String {
            do { _ = try RegistryProfileFile.parse(text, path: "p.yaml"); return "accepted" } catch { return "\(error)" }
        }
        #expect(refusal("registries:\n  a.io:\n    maxConection: 3\n").hasPrefix("p.yaml:3: a.io: unknown key \"maxConection\""))
        #expect(refusal("registries:\n  a.io: [\n").hasPrefix("p.yaml:3: not valid YAML"))
        #expect(refusal("registries:\n  a.io:\n    upload: sideways\n").hasPrefix("p.yaml:3: a.io: upload: \"sideways\" is not monolithic"))
        #expect(refusal("registries:\n  a.io:\n    chunkSize: 1MiB\n").contains("chunkSize needs upload: chunked"))
        #expect(refusal("registries:\n  a.io:\n    maxConnections: 0\n").hasPrefix("p.yaml:3: a.io: maxConnections"))
        #expect(refusal("hosts:\n  a.io: {}\n").hasPrefix("p.yaml:1: unknown key \"hosts\""))
        #expect(refusal("registries:\n  a.io/x:\n    mount: never\n").hasPrefix("p.yaml:2:"))
    }

    @Test("RateLimit headers: N;w=S parsed; counted requests wait when the estimate reaches the minimum, or fail when the window is too long")
    func rateLimitBudget() async throws {
        var h = HTTPHeaders()
        h.set("RateLimit-Limit", "100;w=21600")
        h.set("RateLimit-Remaining", "76;w=21600")
        #expect(RateLimitBudget.reading(h) == RateLimitBudget.Reading(limit: 100, remaining: 76, window: 21600))
        let budget = RateLimitBudget()
        try await budget.admit(minimum: 10, maxWait: .seconds(300), host: "h")
        h.set("RateLimit-Remaining", "10;w=21600")
        budget.answered(h, counted: true)
        await #expect(throws: RateLimitExhausted.self) { try await budget.admit(minimum: 10, maxWait: .seconds(300), host: "h") }
    }

    @Test("an eventually consistent registry: a blob HEAD right after its upload is asked again until it shows, not reported missing")
    func headAfterUpload() async throws {
        let registry = try RegistryServer()
        let s3 = try RegistryImitation(target: registry.port, mode: .s3Eventual(.milliseconds(2500)))
        let client = RegistryClient(registry: s3.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        let bytes = Array(repeating: UInt8(7), count: 3000)
        let d = Descriptor(mediaType: .ociLayer, digest: Digest.sha256(of: bytes), size: 3000)
        try await client.uploadBlob("s3/app", d) { MemoryBlobStream(bytes) }
        #expect(try await client.headBlob("s3/app", d.digest) == 3000)
        #expect(s3.exchanges.filter { $0.kind == .headBlob && $0.status == 404 }.count >= 1, "the imitation never said 404")
        // A blob never uploaded here is missing after one question, not asked again.
        let never = Digest.sha256(of: [1, 2, 3])
        #expect(try await client.headBlob("s3/app", never) == nil)
        #expect(s3.exchanges.filter { $0.kind == .headBlob && $0.path.hasSuffix(never.description) }.count == 1)
    }
}
