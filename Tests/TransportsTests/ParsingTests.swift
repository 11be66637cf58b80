import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

@Suite("Challenges, credentials, errors, locators")
struct ParsingTests {
    @Test("WWW-Authenticate: bearer with quoted parameters, basic, several challenges")
    func challenges() {
        let c = AuthChallenge.parse(#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope""#)
        #expect(c.count == 1)
        #expect(c[0].scheme == "bearer")
        #expect(c[0].parameters["realm"] == "https://auth.example/token")
        #expect(c[0].parameters["scope"] == "repository:a/b:pull,push")
        #expect(c[0].parameters["error"] == "insufficient_scope")
        let two = AuthChallenge.parse(#"Basic realm="x", Bearer realm="https://t/\"q\"",service=s"#)
        #expect(two.map(\.scheme) == ["basic", "bearer"])
        #expect(two[1].parameters["realm"] == #"https://t/"q""#)
        #expect(two[1].parameters["service"] == "s")
    }

    @Test("distribution error bodies become typed errors")
    func registryErrors() {
        let body = Array(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#.utf8)
        let e = RegistryError.from(status: 404, headers: HTTPHeaders(), body: body, target: "r/a:1", request: "GET x")
        #expect(e.codes == [.manifestUnknown])
        #expect(e.isNotFound)
        #expect(!e.isTemporary)
        let limited = RegistryError.from(status: 429, headers: ["Retry-After": "7"], body: [], target: "r/a", request: "GET x")
        #expect(limited.isTemporary)
        #expect(limited.retryAfter == .seconds(7))
        #expect(RegistryError(status: 503, target: "r", request: "x").isTemporary)
        #expect(!RegistryError(status: 501, target: "r", request: "x").isTemporary)
        #expect(RegistryError(status: 401, target: "reg/app", request: "x").description == "authentication required for reg/app")
        #expect(RegistryError(status: 403, target: "reg/app", request: "x").description.hasPrefix("access denied for reg/app"))
    }

    @Test("auth files: namespaced keys first, docker.io legacy keys, credHelpers skipped when disabled")
    func authFiles() throws {
        let dir = try TemporaryDirectory()
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        let json = """
            {"auths":{
              "reg.example/team":{"auth":"\(b64("team:pw1"))"},
              "reg.example":{"auth":"\(b64("all:pw2"))"},
              "https://index.docker.io/v1/":{"auth":"\(b64("hub:pw3"))"}
            }}
            """
        try json.write(toFile: dir.file("auth.json"), atomically: true, encoding: .utf8)
        let store = CredentialStore(authFiles: [dir.file("auth.json")], useHelpers: false)
        #expect(try store.credential(registry: "reg.example", repository: "team/app")?.username == "team")
        #expect(try store.credential(registry: "reg.example", repository: "other/app")?.username == "all")
        #expect(try store.credential(registry: "docker.io", repository: "library/nginx")?.password == "pw3")
        #expect(try store.credential(registry: "nothere.example", repository: "x") == nil)

        try "not json".write(toFile: dir.file("bad.json"), atomically: true, encoding: .utf8)
        let bad = CredentialStore(authFiles: [dir.file("bad.json")])
        #expect(throws: CredentialError.self) { try bad.credential(registry: "r", repository: "a") }
    }

    @Test("credentials never print their secret")
    func redaction() throws {
        let c = try Credential(parsing: "user:pa:ss")
        #expect(c.password == "pa:ss")
        #expect(!"\(c)".contains("pa:ss"))
        #expect(!String(reflecting: c).contains("pa:ss"))
        #expect(throws: CredentialError.self) { try Credential(parsing: "nopassword") }
        var h = HTTPHeaders()
        h.set("Authorization", "Bearer tkn")
        #expect(!h.description.contains("tkn"))
        #expect(!HTTPRedaction.url(URL(string: "https://s3.example/x?X-Amz-Signature=deadbeef&a=1")!).contains("deadbeef"))
    }

    @Test("locators: docker:// is the default, unknown transports are named")
    func locators() throws {
        guard case .docker(let r) = try ImageLocator(parsing: "docker://nginx") else { return }
        #expect(r.description == "docker.io/library/nginx:latest")
        guard case .docker(let r2) = try ImageLocator(parsing: "localhost:5000/a:1") else { return }
        #expect(r2.registry == "localhost:5000")
        do {
            _ = try ImageLocator(parsing: "ftp://host/x")
            Issue.record("ftp:// should be unknown")
        } catch {
            #expect("\(error)".contains("known transports are docker://"))
        }
        #expect(throws: ImageLocatorError.self) { try ImageLocator(parsing: "containers-storage:x") }
        guard case .dockerArchive(let p, let n) = try ImageLocator(parsing: "docker-archive:/tmp/x.tar:nginx:1.25") else {
            Issue.record("docker-archive:")
            return
        }
        #expect(p == "/tmp/x.tar" && n == "nginx:1.25")
        guard case .ociArchive(let p2, nil) = try ImageLocator(parsing: "oci-archive:a.tar.zst") else {
            Issue.record("oci-archive:")
            return
        }
        #expect(p2 == "a.tar.zst")
        #expect(throws: ImageLocatorError.self) { try ImageLocator(parsing: "oci-archive:") }
        #expect(throws: ImageLocatorError.self) { try ImageLocator(parsing: "oci-archive:x.tar:") }
    }

    @Test("loopback detection", arguments: [("127.0.0.1:5000", true), ("localhost", true), ("127.9.9.9", true),
                                             ("[::1]:5000", true), ("128.0.0.1", false), ("example.com", false),
                                             ("127.0.0.1.example.com", false)])
    func loopback(_ c: (String, Bool)) { #expect(isLoopbackHost(c.0) == c.1) }

    @Test("Link headers resolve against the request URL")
    func links() {
        let base = URL(string: "http://r.example/v2/a/tags/list?n=2")!
        #expect(RegistryClient.nextLink(#"</v2/a/tags/list?n=2&last=b>; rel="next""#, relativeTo: base)?.absoluteString
            == "http://r.example/v2/a/tags/list?n=2&last=b")
        #expect(RegistryClient.nextLink(nil, relativeTo: base) == nil)
    }
}
