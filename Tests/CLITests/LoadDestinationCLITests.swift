import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// `load` checks its destination before the run, as `mirror` does.
@Suite("load checks its destination first", .serialized)
struct LoadDestinationCLITests {
    @Test("an untrusted certificate or refused credentials: one error before any image, with the flags that fix it")
    func checkedFirst() async throws {
        let a = try RegistryServer()
        let tree = try SyntheticImage.single(seed: 7_700)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: a.host, options: MirrorCLITests.noAuth), repository: "chk/app", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(a.host)/chk/app:1\n".write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        let save = try Dray.run(["save", "-f", dir.file("l.txt"), "-d", dir.file("s.tar.gz"), "--cache", dir.file("cache"), "-o", dir.file("f.txt")])
        #expect(save.status == 0, "\(save.stderr.suffix(800))")

        let ca = try TestCA(in: dir.path)
        let tls = try RegistryServer(tlsCertificate: try ca.serverCertificate())
        let certs = dir.file("certs.d")
        try FileManager.default.createDirectory(atPath: "\(certs)/\(tls.host)", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.caCertificate, toPath: "\(certs)/\(tls.host)/ca.crt")
        let basic = try RegistryServer(auth: .basic(username: "ann", password: "Right-Pass-77"))
        for source in [dir.file("s.tar.gz"), dir.file("cache")] {
            let untrusted = try Dray.run(["load", "--all", "-s", source, "-d", tls.host, "-o", dir.file("f.txt")])
            #expect(untrusted.status == 1, "\(untrusted.stderr)")
            #expect(untrusted.stderr.hasPrefix("dray: error: destination registry \(tls.host)")
                        && untrusted.stderr.split(separator: "\n").count == 1, "\(untrusted.stderr)")
            #expect(untrusted.stderr.contains("--cert-dir") && untrusted.stderr.contains("--tls-verify=false")
                        && !untrusted.stderr.contains("--skip-login"), "\(untrusted.stderr)")
            let trusted = try Dray.run(["load", "--all", "-s", source, "-d", tls.host, "--cert-dir", certs, "-o", dir.file("f.txt")])
            #expect(trusted.status == 0, "\(trusted.stderr.suffix(800))")

            let refused = try Dray.run(["load", "--all", "-s", source, "-d", basic.host, "--creds", "ann:Wrong-Pass-78", "-o", dir.file("f.txt")])
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.hasPrefix("dray: error: destination registry \(basic.host) refused the password of ann")
                        && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
            let accepted = try Dray.run(["load", "--all", "-s", source, "-d", basic.host, "--creds", "ann:Right-Pass-77", "-o", dir.file("f.txt")])
            #expect(accepted.status == 0, "\(accepted.stderr.suffix(800))")
        }
    }
}
