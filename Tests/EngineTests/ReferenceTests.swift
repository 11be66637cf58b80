import Engine
import Testing

@Suite("Image references")
struct ReferenceTests {
    static let d = "sha256:" + String(repeating: "ab", count: 32)

    /// (input, registry, repository, tag, digest) for valid references.
    static let valid: [(String, String, String, String?, String?)] = [
        ("nginx", "docker.io", "library/nginx", "latest", nil),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25", nil),
        ("library/nginx", "docker.io", "library/nginx", "latest", nil),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest", nil),
        ("docker.io/library/nginx:stable", "docker.io", "library/nginx", "stable", nil),
        ("index.docker.io/library/nginx", "docker.io", "library/nginx", "latest", nil),
        ("registry-1.docker.io/cnrancher/hangar:v1.8.0", "docker.io", "cnrancher/hangar", "v1.8.0", nil),
        ("cnrancher/hangar:latest", "docker.io", "cnrancher/hangar", "latest", nil),
        ("quay.io/coreos/etcd", "quay.io", "coreos/etcd", "latest", nil),
        ("quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", nil),
        ("localhost/app", "localhost", "app", "latest", nil),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev", nil),
        ("127.0.0.1:5000/ns/app:1", "127.0.0.1:5000", "ns/app", "1", nil),
        ("host:443/a/b/c/d:tag", "host:443", "a/b/c/d", "tag", nil),
        ("[::1]:5000/app:x", "[::1]:5000", "app", "x", nil),
        ("[fe80::1]/app", "[fe80::1]", "app", "latest", nil),
        ("Registry.Example.COM/app", "Registry.Example.COM", "app", "latest", nil),
        ("nginx@\(d)", "docker.io", "library/nginx", nil, d),
        ("nginx:1.25@\(d)", "docker.io", "library/nginx", "1.25", d),
        ("reg.io:8080/a/b@\(d)", "reg.io:8080", "a/b", nil, d),
        ("my-registry.example.com/team_a/app-name:v1.0_rc-1", "my-registry.example.com", "team_a/app-name", "v1.0_rc-1", nil),
        ("foo/bar__baz", "docker.io", "foo/bar__baz", "latest", nil),
        ("foo/a.b.c", "docker.io", "foo/a.b.c", "latest", nil),
        ("foo/a---b", "docker.io", "foo/a---b", "latest", nil),
        ("reg.io/x:_under", "reg.io", "x", "_under", nil),
        ("reg.io/x:" + String(repeating: "t", count: 128), "reg.io", "x", String(repeating: "t", count: 128), nil),
        ("a.b/c", "a.b", "c", "latest", nil),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", nil),
        ("gcr.io/distroless/static:nonroot", "gcr.io", "distroless/static", "nonroot", nil),
        ("ghcr.io/owner/repo/sub:main", "ghcr.io", "owner/repo/sub", "main", nil),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", nil),
        ("example.com:5000/sha256", "example.com:5000", "sha256", "latest", nil),
    ]

    @Test("normalises valid references", arguments: valid)
    func parsesValid(_ c: (String, String, String, String?, String?)) throws {
        let r = try Reference(parsing: c.0)
        #expect(r.registry == c.1)
        #expect(r.repository == c.2)
        #expect(r.tag == c.3)
        #expect(r.digest?.description == c.4)
    }

    /// Invalid references and a fragment of the reason each must give.
    static let invalid: [(String, String)] = [
        ("", "empty"),
        ("Nginx", "lowercase"),
        ("docker.io/Library/nginx", "lowercase"),
        ("nginx:", "invalid tag"),
        ("nginx:-bad", "invalid tag"),
        ("nginx:" + String(repeating: "t", count: 129), "invalid tag"),
        ("nginx@sha256:abc", "invalid digest"),
        ("nginx@md5:" + String(repeating: "a", count: 32), "unsupported digest algorithm"),
        ("nginx@sha256:" + String(repeating: "A", count: 64), "invalid digest"),
        ("ngi nx", "whitespace"),
        ("nginx\u{7}", "control"),
        ("ngïnx", "non-ASCII"),
        ("reg.io//app", "invalid repository"),
        ("reg.io/app/", "invalid repository"),
        ("reg.io/-app", "invalid repository"),
        ("reg.io/app-", "invalid repository"),
        ("reg.io/a..b", "invalid repository"),
        ("reg.io/a___b", "invalid repository"),
        ("reg.io:99999/app", "invalid registry"),
        ("-reg.io/app", "invalid registry"),
        ("reg.io/", "invalid repository"),
        (String(repeating: "a", count: 64), "64-byte hexadecimal"),
        ("reg.io/" + String(repeating: "a/", count: 130) + "x", "255 characters"),
        ("reg.io/app!", "invalid repository"),
    ]

    @Test("rejects invalid references with a reason", arguments: invalid)
    func rejectsInvalid(_ c: (String, String)) {
        do {
            let r = try Reference(parsing: c.0)
            Issue.record("\(c.0) parsed as \(r)")
        } catch {
            #expect(error.description.contains(c.1), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("descriptions round-trip")
    func description() throws {
        let r = try Reference(parsing: "nginx:1.25@\(Self.d)")
        #expect(r.description == "docker.io/library/nginx:1.25@\(Self.d)")
        #expect(try Reference(parsing: r.description) == r)
        #expect(r.identifier == Self.d)
        #expect(r.apiHost == "registry-1.docker.io")
        #expect(try Reference(parsing: "quay.io/a/b").apiHost == "quay.io")
    }
}
