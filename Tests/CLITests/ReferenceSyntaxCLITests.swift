import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// One reference syntax everywhere: every command that names one image takes `docker://REF` as well as `REF`,
/// and `inspect` reads layouts and archives as skopeo does.
@Suite("Reference syntax: docker:// everywhere, inspect of oci: and oci-archive:")
struct ReferenceSyntaxCLITests {
    @Test("sign, verify, inspect, list-tags and delete take docker://REF; inspect reads oci: and oci-archive:")
    func dockerPrefixEverywhere() async throws {
        let a = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 10_000, seed: 601)
        try await SyntheticImage.push(tree, to: client, repository: "syntax/app", tag: "1")
        let image = "docker://\(a.host)/syntax/app:1"
        let dir = try TemporaryDirectory()
        try "pw\n".write(toFile: dir.file("pass"), atomically: false, encoding: .utf8)
        #expect(try Dray.run(["generate-key", "--prefix", dir.file("k"), "--passphrase-file", dir.file("pass")]).status == 0)

        let sign = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--signature-format", "simplesigning", image])
        #expect(sign.status == 0, "\(sign.stderr)")
        let verify = try Dray.run(["verify", "--key", dir.file("k.pub"), image])
        #expect(verify.status == 0 && verify.stdoutText.contains("PASS"), "\(verify.stdoutText)\(verify.stderr)")

        let raw = try Dray.run(["inspect", "--raw", image])
        #expect(raw.status == 0 && Array(raw.stdout) == tree.top.bytes, "\(raw.stderr)")
        let tags = try Dray.run(["list-tags", "docker://\(a.host)/syntax/app"])
        #expect(tags.status == 0 && tags.stdoutText.split(separator: "\n").contains("1"), "\(tags.stderr)")

        // Layouts and archives, as skopeo names them.
        #expect(try Dray.run(["copy", "--all", image, "oci:\(dir.file("layout")):app"]).status == 0)
        #expect(try Dray.run(["copy", "--all", image, "oci-archive:\(dir.file("a.tar")):app"]).status == 0)
        for location in ["oci:\(dir.file("layout")):app", "oci-archive:\(dir.file("a.tar")):app", "oci:\(dir.file("layout"))"] {
            let r = try Dray.run(["inspect", "--raw", location])
            #expect(r.status == 0 && Array(r.stdout) == tree.top.bytes, "\(location): \(r.stderr)")
            let summary = try Dray.run(["inspect", "--arch", "arm64", location])
            #expect(summary.status == 0 && summary.stdoutText.contains("linux/arm64"), "\(location): \(summary.stdoutText)\(summary.stderr)")
        }
        let missing = try Dray.run(["inspect", "oci:\(dir.file("nowhere"))"])
        #expect(missing.status != 0 && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")

        let delete = try Dray.run(["delete", "-y", image])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(try await client.headManifest("syntax/app", .tag("1")) == nil)
    }
}
