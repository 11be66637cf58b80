import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Credentials never leave dray in its output. Every `Dray.run` of the suite already checks stdout, stderr, the
/// failed list and the report for every secret the tests' servers hold; these tests add the paths most likely to
/// leak: `--debug` request logs, authentication failures, and a registry that echoes the credentials back.
@Suite("Secrets stay out of logs, errors, reports and failed lists")
struct SecretsCLITests {
    @Test("--debug mirrors through basic auth and bearer tokens log every request without a credential or token")
    func debugLogs() async throws {
        let dir = try TemporaryDirectory()
        let tokens = try TokenServer(folder: dir.path, users: ["tess": "Token-Pass-31"])
        let b = try RegistryServer(auth: tokens.registryAuth)
        let a = try RegistryServer(auth: .basic(username: "bill", password: "Basic-Pass-17"))
        let src = RegistryClient(registry: a.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "bill", password: "Basic-Pass-17"), authFiles: [])))
        let tree = try SyntheticImage.index(layers: 1, layerSize: 3000, seed: 4100)
        try await SyntheticImage.push(tree, to: src, repository: "sec/app", tag: "1")
        try "\(a.host)/sec/app:1\n\(a.host)/sec/missing:1\n".write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)

        let r = try Dray.run(["mirror", "--debug", "-f", dir.file("l.txt"), "-d", b.host, "--all",
                              "--src-creds", "bill:Basic-Pass-17", "--dest-creds", "tess:Token-Pass-31",
                              "-o", dir.file("failed.txt"), "--report", dir.file("report.json")])
        #expect(r.status == 1, "one image is missing: \(r.stderr.suffix(1500))")
        // The debug log shows the requests (so there was something to leak), and tokens were issued.
        #expect(r.stderr.contains("/v2/sec/app/manifests/1"), "\(r.stderr.suffix(1500))")
        #expect(!tokens.requests.isEmpty)
        #expect(!r.stderr.contains("Bearer ey") && !r.stderr.contains("Basic "), "\(r.stderr.suffix(1500))")
        #expect(try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8) == "\(a.host)/sec/missing:1\n")

        // Wrong passwords are refused without being repeated.
        let wrong = try Dray.run(["mirror", "-f", dir.file("l.txt"), "-d", b.host, "--all",
                                  "--src-creds", "bill:Wrong-Pass-99", "--dest-creds", "tess:Wrong-Token-98",
                                  "-o", dir.file("failed2.txt"), "--report", dir.file("report2.json")])
        #expect(wrong.status != 0)
        // The destination's token service is asked before the run, and refuses once.
        #expect(wrong.stderr.contains("the token service of destination registry \(b.host) refused a token to tess"), "\(wrong.stderr.suffix(1500))")
        let wrongSource = try Dray.run(["mirror", "-f", dir.file("l.txt"), "-d", b.host, "--all",
                                        "--src-creds", "bill:Wrong-Pass-99", "--dest-creds", "tess:Token-Pass-31",
                                        "-o", dir.file("failed3.txt"), "--report", dir.file("report3.json")])
        #expect(wrongSource.status != 0)
        #expect(wrongSource.stderr.contains("authentication required for \(a.host)/sec/app:1"), "\(wrongSource.stderr.suffix(1500))")
    }

    @Test("a registry that echoes the Authorization header and the password into its errors is masked")
    func echoingRegistry() throws {
        let password = "Echo-Pass-\(UInt32.random(in: 0...UInt32.max))"
        let basic = Data("eve:\(password)".utf8).base64EncodedString()
        let echo = try MiniHTTPServer { req in
            guard let auth = req.headers["authorization"] else {
                return .init(status: 401, headers: [("WWW-Authenticate", "Basic realm=\"echo\"")])
            }
            if req.path == "/v2/" { return .init(status: 200) }
            // A careless registry: its error repeats what it was sent.
            let body = #"{"errors":[{"code":"DENIED","message":"denied: Authorization \#(auth) (user eve, password \#(password))"}]}"#
            return .init(status: 403, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
        let dir = try TemporaryDirectory()
        try "\(echo.host)/echo/app:1\n".write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        for args in [
            ["inspect", "--creds", "eve:\(password)", "\(echo.host)/echo/app:1"],
            ["mirror", "-f", dir.file("l.txt"), "-d", "127.0.0.1:1", "--skip-login", "--src-creds", "eve:\(password)",
             "--retries", "0", "-o", dir.file("failed.txt"), "--report", dir.file("report.json")],
            ["mirror", "validate", "-f", dir.file("l.txt"), "-d", echo.host, "--dest-creds", "eve:\(password)"],
        ] {
            let r = try Dray.run(args)
            #expect(r.status != 0)
            let all = r.stderr + r.stdoutText + ((try? String(contentsOfFile: dir.file("report.json"), encoding: .utf8)) ?? "")
            #expect(all.contains("DENIED") || all.contains("denied"), "\(args[0]): \(all.suffix(1000))")
            #expect(all.contains(Secrets.mask), "\(args[0]): the echoed secret was masked: \(all.suffix(1000))")
            #expect(!all.contains(password) && !all.contains(basic))
        }
    }
}
