@testable import Engine
import Foundation
import Testing

@Suite("image-syncer config and Hangar lists")
final class SyncConfigTests {
    /// A folder of this test's own, removed when the test ends.
    let dir = NSTemporaryDirectory() + "dray-config-\(UUID().uuidString)"

    init() throws { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ text: String, _ name: String) throws -> String {
        let path = "\(dir)/\(name)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    @Test("JSON with // comments (as image-syncer's README writes it) fails naming the file and the comment's line")
    func jsonComments() throws {
        let path = try write("""
            {
                "auth": {
                    "quay.io": {            // a registry and its account
                        "username": "u", "password": "http://not-a-comment//"
                    }
                },
                "images": {}
            }
            """, "commented.json")
        do {
            _ = try SyncConfig.load(config: path, auth: nil, images: nil)
            Issue.record("a commented JSON config was accepted")
        } catch let e as SyncConfigError {
            #expect(e.description == "\(path):3: comments are not allowed in JSON (use YAML)")
        }
        #expect(SyncConfig.jsonCommentLine("{\n  \"a\": \"b\",\n  /* c */\n}") == 3)
        #expect(SyncConfig.jsonCommentLine("{a: http://x}") == nil, "a URL in a YAML flow mapping is not a comment")
        #expect(SyncConfig.jsonCommentLine("a: b  # YAML comment\nc: //d\n") == nil)
    }

    /// A JSON config with every kind of source selector (the YAML reader's differential tests read it too).
    static let jsonConfig = """
        {
          "auth": {
            "quay.io": {"username": "$QUSER", "password": "${QPASS}x", "insecure": true},
            "quay.io/coreos": {"username": "abc", "password": "def"}
          },
          "images": {
            "quay.io/coreos/kube-rbac-proxy": "quay.io/ruohe/kube-rbac-proxy",
            "quay.io/a/b:t1,t2,t3": "reg.example/x/b",
            "quay.io/a/c:/^v1\\\\.[0-9]+$/": ["reg.example/x/c", "reg2.example/y/c"],
            "quay.io/a/d@sha256:\(String(repeating: "ab", count: 32))": "reg.example/x/d:pinned"
          }
        }
        """

    @Test("JSON config: auth with $VAR and ${VAR}, insecure, every kind of source selector")
    func json() throws {
        let path = try write(Self.jsonConfig, "c.json")
        let c = try SyncConfig.load(config: path, auth: nil, images: nil, environment: ["QUSER": "qu", "QPASS": "qp"])
        #expect(c.auth.count == 2)
        #expect(c.auth[0].username == "qu" && c.auth[0].password == "qpx" && c.auth[0].insecure)
        #expect(c.authEntry(registry: "quay.io", repository: "coreos/etcd")?.username == "abc")
        #expect(c.authEntry(registry: "quay.io", repository: "other/etcd")?.username == "qu")
        #expect(c.rules.map(\.key) == ["quay.io/coreos/kube-rbac-proxy", "quay.io/a/b:t1,t2,t3",
                                       "quay.io/a/c:/^v1\\.[0-9]+$/", "quay.io/a/d@sha256:\(String(repeating: "ab", count: 32))"])
        #expect(c.rules[0].selector == .all)
        #expect(c.rules[1].selector == .tags(["t1", "t2", "t3"]))
        #expect(c.rules[2].selector == .regex("^v1\\.[0-9]+$"))
        #expect(c.rules[2].destinations == ["reg.example/x/c", "reg2.example/y/c"])
        #expect(c.rules.allSatisfy { $0.line > 0 })
    }

    @Test("YAML auth and images files load the same way")
    func yaml() throws {
        let auth = try write("reg.example:\n  username: u\n  password: p\n", "auth.yaml")
        let images = try write("# rules\nreg.example/ns/app:1.0: other.example/ns/app\nreg.example/ns/all: ''\n", "images.yml")
        let c = try SyncConfig.load(config: nil, auth: auth, images: images)
        #expect(c.auth.first?.password == "p")
        #expect(c.rules.count == 2)
        #expect(c.rules[0].line == 2)
        #expect(c.rules[1].destinations == [""])
    }

    @Test("config errors name the file and line", arguments: [
        ("{\"auth\": {}, \"imagez\": {}}", "unknown key \"imagez\""),
        ("images:\n  reg.example/a/b:/[unclosed/: x/y/z\n", ":2: \"reg.example/a/b:/[unclosed/\": invalid tag regex"),
        ("images:\n  nginx: x/y/z\n", ":2: \"nginx\": a source must be at least registry/namespace/repository"),
        ("auth:\n  reg.example:\n    user: x\n", ":3: \"reg.example\": unknown key \"user\""),
        ("images: [1, 2", "not valid YAML"),
        // Found by the fuzzer (scripts/fuzz.sh): a key ending in `:/` once crashed the regex branch.
        ("images:\n  quay.io/coreos/k:/: x/y/z\n", ":2: \"quay.io/coreos/k:/\": invalid repository name"),
        ("images:\n  reg.example/a/b\u{7f}:1: x/y/z\n", ":2: not valid YAML (control characters are not allowed)"),
    ])
    func errors(_ c: (String, String)) throws {
        let path = try write(c.0, "bad.yaml")
        do {
            _ = try SyncConfig.load(config: path, auth: nil, images: nil)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains(c.1), "\(error)")
            #expect("\(error)".hasPrefix(path))
        }
    }

    /// Rules with every kind of tag mapping (the YAML reader's differential tests read them too).
    static let mappingRules = """
        images:
          src.example/ns/app: dst.example/m/app
          src.example/ns/app:/^v2/: [dst.example/r/app]
          src.example/ns/app:v1: dst.example/m/app:stable
          src.example/ns/app:v1,v2: m2/app
          src.example/ns/lib:1.0: ''
          src.example/ns/bad:a,b: dst.example/m/bad:c
        """

    @Test("rules expand to targets with image-syncer's tag mapping")
    func expansion() async throws {
        let path = try write(Self.mappingRules, "i.yaml")
        let c = try SyncConfig.load(config: path, auth: nil, images: nil)
        let (targets, errors) = await c.targets(defaultRegistry: "def.example", defaultNamespace: "dn",
                                                destinationRegistry: "d.example") { _ in ["v1", "v2", "v2.1", "x"] }
        #expect(targets.map { "\($0.source) => \($0.destination)" } == [
            "src.example/ns/app:v1 => dst.example/m/app:v1",
            "src.example/ns/app:v2 => dst.example/m/app:v2",
            "src.example/ns/app:v2.1 => dst.example/m/app:v2.1",
            "src.example/ns/app:x => dst.example/m/app:x",
            "src.example/ns/app:v2 => dst.example/r/app:v2",
            "src.example/ns/app:v2.1 => dst.example/r/app:v2.1",
            "src.example/ns/app:v1 => dst.example/m/app:stable",
            "src.example/ns/app:v1 => d.example/m2/app:v1",
            "src.example/ns/app:v2 => d.example/m2/app:v2",
            "src.example/ns/lib:1.0 => def.example/dn/lib:1.0",
        ])
        #expect(targets[6].line == "src.example/ns/app dst.example/m/app stable")
        #expect(errors.count == 1)
        #expect(errors[0].lineNumber == 7)
        #expect(errors[0].reason.contains("must name exactly one"))
    }

    @Test("Hangar lists: Default and Mirror formats, comments, and line numbers for bad lines")
    func hangarLists() {
        let text = """
            # comment
            nginx:1.25

            // another comment
            quay.io/a/b@sha256:\(String(repeating: "cd", count: 32))
            docker.io/library/redis   mirror/redis   7.2
            one two
            Bad Ref
            src.example/a/b:tag dst/x 1
            """
        let (entries, errors) = ImageList.parse(text, file: "list.txt")
        #expect(entries.map(\.lineNumber) == [2, 5, 6])
        #expect(entries[2].destinationRepository == "mirror/redis")
        #expect(entries[2].source.tag == "7.2")
        #expect(errors.map(\.lineNumber) == [7, 8, 9])
        #expect(errors[0].description.hasPrefix("list.txt:7: expected an image"))
        #expect(errors[2].reason.contains("must not carry a tag"))

        let naming = MirrorNaming(sourceRegistry: "mirror.local:5000", destinationRegistry: "harbor.local",
                                  sourceProject: nil, destinationProject: "team")
        let (targets, namingErrors) = naming.targets(entries, file: "list.txt")
        #expect(namingErrors.isEmpty)
        #expect(targets.map(\.source.description)[0] == "mirror.local:5000/library/nginx:1.25")
        #expect(targets.map(\.destination.description)[0] == "harbor.local/team/nginx:1.25")
        #expect(targets[1].destination.digest != nil && targets[1].destination.tag == nil)
        #expect(targets[2].destination.description == "harbor.local/team/redis:7.2")

        // The same list saved with Windows line endings parses the same way.
        let crlf = ImageList.parse(text.replacingOccurrences(of: "\n", with: "\r\n"), file: "list.txt")
        #expect(crlf.entries.map(\.lineNumber) == [2, 5, 6])
        #expect(crlf.entries.map(\.source) == entries.map(\.source))
        #expect(crlf.errors.map(\.lineNumber) == [7, 8, 9])
    }
}
