import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("dray login and logout")
struct LoginCLITests {
    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    @Test("basic auth: good credentials are checked and stored (0600, other keys kept) and then used by mirror; wrong ones change nothing; logout removes them")
    func basic() async throws {
        let reg = try RegistryServer(auth: .basic(username: "lara", password: "Login-Pass-41"))
        let home = try TemporaryDirectory()
        let config = home.file(".docker/config.json")
        try FileManager.default.createDirectory(atPath: home.file(".docker"), withIntermediateDirectories: true)
        let before = #"{"auths": {"other.example": {"auth": "eDp5"}}, "HttpHeaders": {"User-Agent": "kept"}}"#
        try before.write(toFile: config, atomically: false, encoding: .utf8)

        let wrong = try Dray.run(["login", reg.host, "-u", "lara", "--password-stdin"], home: home.path, stdin: "Wrong-Pass-42\n")
        #expect(wrong.status == 1)
        #expect(wrong.stderr == "dray: error: \(reg.host) refused the credentials of lara (HTTP 401); nothing was stored\n")
        #expect(try String(contentsOfFile: config, encoding: .utf8) == before)

        let ok = try Dray.run(["login", reg.host, "-u", "lara", "--password-stdin"], home: home.path, stdin: "Login-Pass-41\n")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdoutText.contains("Login Succeeded: lara at \(reg.host), stored in \(config)"))
        let stored = try Self.json(config)
        let auths = stored["auths"] as! [String: [String: String]]
        #expect(auths[reg.host]?["auth"] == Data("lara:Login-Pass-41".utf8).base64EncodedString())
        #expect(auths["other.example"]?["auth"] == "eDp5")
        #expect((stored["HttpHeaders"] as? [String: String])?["User-Agent"] == "kept")
        #expect(try Self.mode(config) == 0o600)

        // The stored credentials are what a later run uses: no --creds flag here.
        let src = try RegistryServer()
        let tree = try SyntheticImage.single(seed: 4200)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: src.host, options: RegistryOptions(credentials: CredentialStore(authFiles: []))),
                                      repository: "lg/app", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(src.host)/lg/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let mirror = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", reg.host, "-o", dir.file("f.txt")], home: home.path)
        #expect(mirror.status == 0, "\(mirror.stderr.suffix(1500))")

        let out = try Dray.run(["logout", reg.host], home: home.path)
        #expect(out.status == 0 && out.stdoutText.contains("Removed the credentials of \(reg.host)"))
        let after = try Self.json(config)
        #expect((after["auths"] as! [String: Any])[reg.host] == nil)
        #expect((after["auths"] as! [String: Any])["other.example"] != nil)
        let again = try Dray.run(["logout", reg.host], home: home.path)
        #expect(again.status == 0 && again.stdoutText.contains("Not logged in to \(reg.host)"))
        let denied = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", reg.host, "-o", dir.file("f2.txt"), "--skip-login"], home: home.path)
        #expect(denied.status != 0, "without the stored credentials the push is refused")

        let all = try Dray.run(["logout", "--all"], home: home.path)
        #expect(all.stdoutText.contains("Removed the credentials of other.example"))
        #expect((try Self.json(config)["auths"] as! [String: Any]).isEmpty)
    }

    @Test("bearer tokens: login asks the token service; a refused password stores nothing; --authfile names the file")
    func token() async throws {
        let dir = try TemporaryDirectory()
        let tokens = try TokenServer(folder: dir.path, users: ["tom": "Token-Login-51"])
        let reg = try RegistryServer(auth: tokens.registryAuth)
        let file = dir.file("auth.json")
        let wrong = try Dray.run(["login", reg.host, "-u", "tom", "--password-stdin", "--authfile", file], stdin: "nope-52")
        #expect(wrong.status == 1 && wrong.stderr.contains("refused the credentials of tom"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: file))
        let ok = try Dray.run(["login", "http://\(reg.host)/", "-u", "tom", "--password-stdin", "--authfile", file], stdin: "Token-Login-51\r\n")
        #expect(ok.status == 0, "\(ok.stderr)\(ok.stdoutText)")
        #expect(!tokens.requests.isEmpty)
        let auths = try Self.json(file)["auths"] as! [String: [String: String]]
        #expect(auths[reg.host]?["auth"] == Data("tom:Token-Login-51".utf8).base64EncodedString())
        #expect(try Self.mode(file) == 0o600)
    }

    @Test("an identitytoken in the auth file is exchanged through the OAuth2 refresh-token grant; a wrong one is refused")
    func identityToken() async throws {
        let dir = try TemporaryDirectory()
        let tokens = try TokenServer(folder: dir.path, users: ["ida": "Not-Used-71"], refreshTokens: ["Refresh-Token-72": "ida"])
        let reg = try RegistryServer(auth: tokens.registryAuth)
        let src = try RegistryServer()
        let tree = try SyntheticImage.single(seed: 4600)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: src.host, options: RegistryOptions(credentials: CredentialStore(authFiles: []))),
                                      repository: "idt/app", tag: "1")
        try "\(src.host)/idt/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        func authFile(_ token: String) throws {
            let user = Data("00000000-0000-0000-0000-000000000000:".utf8).base64EncodedString()
            try #"{"auths": {"\#(reg.host)": {"auth": "\#(user)", "identitytoken": "\#(token)"}}}"#
                .write(toFile: dir.file("auth.json"), atomically: false, encoding: .utf8)
        }
        try authFile("Refresh-Token-72")
        let ok = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", reg.host, "--authfile", dir.file("auth.json"), "-o", dir.file("f1.txt")])
        #expect(ok.status == 0, "\(ok.stderr.suffix(1500))")
        let posts = tokens.requests.filter { $0.method == "POST" }
        #expect(!posts.isEmpty && posts.allSatisfy { String(decoding: $0.body, as: UTF8.self).contains("grant_type=refresh_token") })
        #expect(tokens.requests.allSatisfy { $0.headers["authorization"] == nil }, "the refresh token replaces Basic credentials")
        let dst = RegistryClient(registry: reg.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [dir.file("auth.json")])))
        #expect(try await dst.manifest("idt/app", .tag("1")).digest == tree.top.digest)

        try authFile("Stale-Token-73")
        let refused = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", reg.host, "--authfile", dir.file("auth.json"),
                                    "--skip-login", "--force", "-o", dir.file("f2.txt")])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(reg.host)"), "\(refused.stderr.suffix(1500))")
        #expect(!refused.stderr.contains("Stale-Token-73"))
    }

    @Test("a registry the file gives to a credential helper is stored and erased through the helper")
    func helper() async throws {
        let reg = try RegistryServer(auth: .basic(username: "hal", password: "Helper-Pass-61"))
        let dir = try TemporaryDirectory()
        let bin = dir.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let script = "#!/bin/sh\necho \"$1\" >> \(dir.file("calls"))\ncat > \(dir.file("input-"))$1\n"
        try script.write(toFile: "\(bin)/docker-credential-fake", atomically: false, encoding: .utf8)
        chmod("\(bin)/docker-credential-fake", 0o755)
        let file = dir.file("config.json")
        try #"{"credHelpers": {"\#(reg.host)": "fake"}}"#.write(toFile: file, atomically: false, encoding: .utf8)
        let env = ["PATH": "\(bin):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"]
        let ok = try Dray.run(["login", reg.host, "-u", "hal", "--password-stdin", "--authfile", file], extraEnvironment: env, stdin: "Helper-Pass-61")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdoutText.contains("stored by docker-credential-fake"))
        let input = try Self.json(dir.file("input-store")) as! [String: String]
        #expect(input == ["ServerURL": reg.host, "Username": "hal", "Secret": "Helper-Pass-61"])
        #expect(Self.jsonKeys(file) == ["credHelpers"], "the file itself is unchanged")
        let out = try Dray.run(["logout", reg.host, "--authfile", file], extraEnvironment: env)
        #expect(out.status == 0)
        #expect(try String(contentsOfFile: dir.file("input-erase"), encoding: .utf8) == reg.host)
    }

    static func jsonKeys(_ path: String) -> [String] { ((try? json(path)) ?? [:]).keys.sorted() }

    @Test("bad input fails with one line: no terminal to ask on, both password flags, a path as registry, a broken auth file")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        let cases: [([String], String?, String)] = [
            (["login", "r.example:5000"], nil, "a username is needed (-u): standard input is not a terminal"),
            (["login", "r.example:5000", "-u", "x"], nil, "a password is needed (--password-stdin): standard input is not a terminal"),
            (["login", "r.example:5000", "-u", "x", "-p", "y", "--password-stdin"], "z", "-p/--password and --password-stdin: give one"),
            (["login", "r.example:5000/ns", "-u", "x", "--password-stdin"], "z", "invalid registry \"r.example:5000/ns\": give host or host:port"),
            (["logout"], nil, "give a registry, or --all"),
        ]
        for (args, stdin, message) in cases {
            let r = try Dray.run(args, stdin: stdin ?? "")
            #expect(r.status == 1)
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        try "{not json".write(toFile: dir.file("bad.json"), atomically: false, encoding: .utf8)
        let broken = try Dray.run(["logout", "r.example", "--authfile", dir.file("bad.json")])
        #expect(broken.status == 1 && broken.stderr.contains("\(dir.file("bad.json")): not a JSON object"), "\(broken.stderr)")
        #expect(try String(contentsOfFile: dir.file("bad.json"), encoding: .utf8) == "{not json")
    }
}
