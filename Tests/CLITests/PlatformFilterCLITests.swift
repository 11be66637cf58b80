import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Hangar's platform filter (`-a/--arch`, `--os`, `--no-arch-os-fail`) on what is not a plain tagged index: a
/// digest pin, and single-platform images (whose platform is in their config).
@Suite("Platform filters: digest pins and single-platform images")
struct PlatformFilterCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))

    @Test("a digest-pinned index is copied whole under the default filter, byte for byte, and the log says so")
    func pinnedIndexIsCopiedWhole() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let source = RegistryClient(registry: a.host, options: Self.noAuth)
        // linux/arm/v7 is outside Hangar's default filter (amd64,arm64 / linux).
        let tree = try SyntheticImage.index(seed: 401)
        try await SyntheticImage.push(tree, to: source, repository: "pin/app", tag: "1.0")
        let dir = try TemporaryDirectory()
        try "\(a.host)/pin/app@\(tree.top.digest)\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-o", dir.file("failed.txt")])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        #expect(r.stderr.contains("pinned by digest") && r.stderr.contains("not applied"), "\(r.stderr.suffix(2000))")
        let destination = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await destination.manifest("pin/app", .digest(tree.top.digest)).bytes == tree.top.bytes)
        for child in tree.children {
            #expect(try await destination.headManifest("pin/app", .digest(child.digest)) != nil, "\(child.digest)")
        }
        for (d, _) in tree.blobs.values {
            #expect(try await destination.headBlob("pin/app", d.digest) == d.size)
        }
        // mirror validate decides as the copy did: the pin is expected whole.
        let validate = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host])
        #expect(validate.status == 0 && validate.stdoutText.contains("1 passed, 0 failed"), "\(validate.stdoutText)\(validate.stderr)")
    }

    @Test("-a/--os filter single-platform images by their config: skipped with a warning, failed with --no-arch-os-fail")
    func singlePlatformImages() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let source = RegistryClient(registry: a.host, options: Self.noAuth)
        let amd64 = try SyntheticImage.single(platform: Platform(os: "linux", architecture: "amd64"), seed: 411)
        try await SyntheticImage.push(amd64, to: source, repository: "single/app", tag: "1")
        let destination = RegistryClient(registry: b.host, options: Self.noAuth)
        let dir = try TemporaryDirectory()
        let line = "\(a.host)/single/app:1"
        try "\(line)\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        // Not selected: a warning, nothing at the destination, the run succeeds (Hangar's default).
        let skipped = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-a", "s390x",
                                    "-o", dir.file("failed.txt")])
        #expect(skipped.status == 0, "\(skipped.stderr.suffix(2000))")
        #expect(skipped.stderr.contains("WARN") && skipped.stderr.contains("linux/amd64"), "\(skipped.stderr.suffix(2000))")
        #expect(try await destination.headManifest("single/app", .tag("1")) == nil)
        // mirror validate agrees: the filter leaves the image out, so nothing is expected at the destination.
        let validateSkipped = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "-a", "s390x"])
        #expect(validateSkipped.status == 0, "\(validateSkipped.stdoutText)\(validateSkipped.stderr)")
        let validateAll = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "--all"])
        #expect(validateAll.status != 0 && validateAll.stdoutText.contains("missing at the destination"), "\(validateAll.stdoutText)")

        // --no-arch-os-fail: the image fails and its line goes to the failed list.
        let failed = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-a", "s390x",
                                   "--no-arch-os-fail", "-o", dir.file("failed.txt")])
        #expect(failed.status == 1)
        #expect(try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8).contains(line))
        #expect(try await destination.headManifest("single/app", .tag("1")) == nil)

        // --os windows does not match either; -a amd64 --os linux copies it unchanged.
        let windows = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--os", "windows",
                                    "--no-arch-os-fail", "-o", dir.file("failed.txt")])
        #expect(windows.status == 1)
        let copied = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-a", "amd64", "--os", "linux",
                                   "-o", dir.file("failed.txt")])
        #expect(copied.status == 0, "\(copied.stderr.suffix(2000))")
        #expect(try await destination.manifest("single/app", .tag("1")).bytes == amd64.top.bytes)

        // copy refuses it with the platform it has.
        let copy = try Dray.run(["copy", "-a", "s390x", "docker://\(line)", "docker://\(b.host)/single/other:1"])
        #expect(copy.status != 0 && copy.stderr.contains("linux/amd64"), "\(copy.stderr)")
        #expect(try await destination.headManifest("single/other", .tag("1")) == nil)
    }
}
