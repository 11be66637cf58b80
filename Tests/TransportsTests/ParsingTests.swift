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
        try json.write(toFile: dir.file("auth.json"), atomically: false, encoding: .utf8)
        let store = CredentialStore(authFiles: [dir.file("auth.json")], useHelpers: false)
        #expect(try store.credential(registry: "reg.example", repository: "team/app")?.username == "team")
        #expect(try store.credential(registry: "reg.example", repository: "other/app")?.username == "all")
        #expect(try store.credential(registry: "docker.io", repository: "library/nginx")?.password == "pw3")
        #expect(try store.credential(registry: "nothere.example", repository: "x") == nil)

        try "not json".write(toFile: dir.file("bad.json"), atomically: false, encoding: .utf8)
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

    @Test("the user's files: one rule for credentials, login and profiles, and an empty variable is an unset one")
    func userPaths() {
        #expect(CredentialStore.defaultAuthFiles(environment: ["HOME": "/h", "DOCKER_CONFIG": ""]) == ["/h/.docker/config.json"])
        #expect(CredentialStore.defaultAuthFiles(environment: ["HOME": "/h", "DOCKER_CONFIG": "/d"]) == ["/d/config.json"])
        #expect(AuthFile.defaultPath(environment: ["HOME": "/h", "DOCKER_CONFIG": ""]) == "/h/.docker/config.json")
        #expect(RegistryProfileFile.defaultPath(environment: ["HOME": "/h"]) == "/h/.config/dray/registries.yaml")
        #expect(RegistryProfileFile.defaultPath(environment: ["HOME": "", "XDG_CONFIG_HOME": "/x"]) == "/x/dray/registries.yaml")
        #expect(!RegistryProfileFile.defaultPath(environment: ["HOME": ""]).hasPrefix("/.config"), "an empty HOME is the account's home")
    }

    @Test("a failed request's step: no query, one step for every upload session")
    func failedStep() {
        let put = RegistryError(status: 503, target: "r/a", request: "PUT http://r/v2/a/blobs/uploads/1f2e?_state=x&digest=sha256:ab")
        let again = RegistryError(status: 503, target: "r/a", request: "PUT http://r/v2/a/blobs/uploads/99aa?_state=y&digest=sha256:ab")
        #expect(put.failedStep == "PUT http://r/v2/a/blobs/uploads/")
        #expect(put.failedStep == again.failedStep)
        let mount = RegistryError(status: 503, target: "r/a", request: "POST http://r/v2/a/blobs/uploads/?mount=sha256:ab&from=b")
        #expect(mount.failedStep == "POST http://r/v2/a/blobs/uploads/")
        let get = TransportError(code: 56, message: "recv failure", request: "GET http://s/v2/a/blobs/sha256:ab")
        #expect(get.failedStep == "GET http://s/v2/a/blobs/sha256:ab")
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

    @Test("address classes of IP literals", arguments: [
        ("8.8.8.8", AddressClass.publicNetwork), ("10.0.0.1", .privateNetwork), ("172.16.5.4", .privateNetwork),
        ("172.32.0.1", .publicNetwork), ("192.168.1.1", .privateNetwork), ("100.64.0.1", .privateNetwork),
        ("169.254.169.254", .linkLocal), ("127.0.0.1", .loopback), ("0.0.0.0", .loopback), ("::1", .loopback),
        ("[::1]", .loopback), ("fd00::1", .privateNetwork), ("fe80::1", .linkLocal), ("::ffff:10.0.0.1", .privateNetwork),
        ("2001:db8::1", .publicNetwork), ("localhost", .loopback), ("registry.localhost", .loopback),
    ])
    func addressClasses(_ c: (String, AddressClass)) { #expect(AddressClass.of(host: c.0) == c.1) }

    @Test("redirect targets: public anywhere, own host always, other networks only from inside them")
    func addressPolicy() {
        let classes: [String: AddressClass] = ["reg.example": .publicNetwork, "s3.example": .publicNetwork,
                                               "corp-reg": .privateNetwork, "minio": .privateNetwork,
                                               "metadata": .linkLocal, "local": .loopback]
        func refused(_ target: String, _ origin: String) -> Bool {
            AddressPolicy.refusal(to: URL(string: "http://\(target)/x")!, from: URL(string: "https://\(origin)/v2/")!,
                                  classify: { classes[$0] ?? .publicNetwork }) != nil
        }
        #expect(!refused("s3.example", "reg.example"))
        #expect(refused("minio", "reg.example"))
        #expect(refused("local", "reg.example"))
        #expect(refused("metadata", "reg.example"))
        #expect(!refused("minio", "corp-reg"))
        #expect(refused("metadata", "corp-reg"))
        #expect(refused("local", "corp-reg"))
        #expect(!refused("corp-reg:9000", "corp-reg"))
        #expect(!refused("s3.example", "local"))
    }

    @Test("Link headers resolve against the request URL")
    func links() {
        let base = URL(string: "http://r.example/v2/a/tags/list?n=2")!
        #expect(RegistryClient.nextLink(#"</v2/a/tags/list?n=2&last=b>; rel="next""#, relativeTo: base)?.absoluteString
            == "http://r.example/v2/a/tags/list?n=2&last=b")
        #expect(RegistryClient.nextLink(nil, relativeTo: base) == nil)
    }
}
