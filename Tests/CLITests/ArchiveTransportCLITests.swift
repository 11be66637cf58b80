import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("oci-archive: and docker-archive: locations", .serialized)
struct ArchiveTransportCLITests {
    @Test("copy into and out of oci-archive: keeps every digest; skopeo reads what dray wrote")
    func ociArchive() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let one = try SyntheticImage.index(format: .oci, layers: 2, layerSize: 30_000, seed: 71)
        let two = try SyntheticImage.single(format: .docker, layers: 1, layerSize: 20_000, seed: 72)
        try await SyntheticImage.push(one, to: client, repository: "arc/one", tag: "1")
        try await SyntheticImage.push(two, to: client, repository: "arc/two", tag: "2")
        let dir = try TemporaryDirectory()

        for archive in ["o.tar", "o.tar.zst"] {
            let path = dir.file(archive)
            // Two copies into the same archive: the second adds to it.
            #expect(try Dray.run(["copy", "\(a.host)/arc/one:1", "oci-archive:\(path)"]).status == 0)
            let add = try Dray.run(["copy", "\(a.host)/arc/two:2", "oci-archive:\(path):two"])
            #expect(add.status == 0, "\(add.stderr)")
            let ls = try Dray.run(["archive", "ls", "--json", path])
            let names = (try JSONSerialization.jsonObject(with: Data(ls.stdout)) as! [[String: Any]]).map { $0["name"] as! String }
            #expect(Set(names) == ["\(a.host)/arc/one:1", "two"], "\(archive)")

            // Out again, to an empty registry: same digests.
            let back = try Dray.run(["copy", "oci-archive:\(path):two", "\(b.host)/\(archive)/two:2"])
            #expect(back.status == 0, "\(back.stderr)")
            #expect(try await RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
                .headManifest("\(archive)/two", .tag("2"))?.digest == two.top.digest)
            let whole = try Dray.run(["copy", "oci-archive:\(path):\(a.host)/arc/one:1", "\(b.host)/\(archive)/one:1"])
            #expect(whole.status == 0, "\(whole.stderr)")
            let bc = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
            #expect(try await bc.manifest("\(archive)/one", .tag("1")).bytes == one.top.bytes)
            for (d, _) in one.blobs.values { #expect(try await bc.headBlob("\(archive)/one", d.digest) == d.size) }
            // Which image, when the archive holds two, must be said.
            let ambiguous = try Dray.run(["copy", "oci-archive:\(path)", "\(b.host)/x/y:1"])
            #expect(ambiguous.status != 0 && ambiguous.stderr.contains("holds 2 images"), "\(ambiguous.stderr)")
        }
        let raw = try Shell.run("skopeo", ["inspect", "--raw", "oci-archive:\(dir.file("o.tar")):\(a.host)/arc/one:1"])
        #expect(raw.stdout == one.top.bytes, "\(raw.stderr)")
    }

    @Test("a docker save archive (layers linked between images) is a source; a link out of it is refused")
    func dockerArchive() async throws {
        let b = try RegistryServer()
        let dir = try TemporaryDirectory()
        let root = dir.file("save")
        let fm = FileManager.default
        // Two images sharing their first layer, which docker save stores once and links from the second.
        func layer(_ name: String, _ text: String) throws -> String {
            let src = dir.file("rootfs-\(name)")
            try fm.createDirectory(atPath: src, withIntermediateDirectories: true)
            try text.write(toFile: "\(src)/\(name).txt", atomically: false, encoding: .utf8)
            try fm.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            _ = try Shell.check("tar", ["-cf", "\(root)/\(name)/layer.tar", "-C", src, "."])
            return "\(name)/layer.tar"
        }
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        let base = try layer("base", "shared base")
        let top = try layer("top", "only in the first image")
        try fm.createDirectory(atPath: "\(root)/linked", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: "\(root)/linked/layer.tar", withDestinationPath: "../base/layer.tar")
        func sha(_ path: String) throws -> String {
            var h = Hasher256()
            h.update(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            return h.finalize().hex
        }
        let config1 = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:\#(try sha("\(root)/\(base)"))","sha256:\#(try sha("\(root)/\(top)"))"]}}"#
        let config2 = #"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:\#(try sha("\(root)/\(base)"))"]}}"#
        try config1.write(toFile: "\(root)/c1.json", atomically: false, encoding: .utf8)
        try config2.write(toFile: "\(root)/c2.json", atomically: false, encoding: .utf8)
        let manifest = #"[{"Config":"c1.json","RepoTags":["busybox:1"],"Layers":["\#(base)","\#(top)"]},{"Config":"c2.json","RepoTags":["example.com/other:2"],"Layers":["linked/layer.tar"]}]"#
        try manifest.write(toFile: "\(root)/manifest.json", atomically: false, encoding: .utf8)
        _ = try Shell.check("tar", ["-cf", dir.file("docker.tar"), "-C", root, "."])

        let ambiguous = try Dray.run(["copy", "docker-archive:\(dir.file("docker.tar"))", "\(b.host)/d/x:1"])
        #expect(ambiguous.status != 0 && ambiguous.stderr.contains("holds 2 images"), "\(ambiguous.stderr)")

        let regClient = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        for (name, dest, layers, config) in [("docker.io/library/busybox:1", "d/busybox", [base, top], "c1.json"),
                                             ("example.com/other:2", "d/other", ["base/layer.tar"], "c2.json")] {
            let r = try Dray.run(["copy", "docker-archive:\(dir.file("docker.tar")):\(name)", "\(b.host)/\(dest):1"])
            #expect(r.status == 0, "\(r.stderr)")
            guard case .image(let m) = try await regClient.manifest(dest, .tag("1")).parsed() else {
                Issue.record("not an image")
                continue
            }
            // Layers keep the digests of the saved tars (the config's diff_ids); the config is the saved one.
            #expect(m.layers.map(\.digest.hex) == (try layers.map { try sha("\(root)/\($0)") }))
            #expect(m.layers.allSatisfy { $0.mediaType == .ociLayer })
            #expect(m.config.digest.hex == (try sha("\(root)/\(config)")))
        }
        // skopeo reads what was pushed.
        let sk = try Shell.run("skopeo", ["inspect", "--tls-verify=false", "docker://\(b.host)/d/busybox:1"])
        #expect(sk.status == 0, "\(sk.stderr)")

        // dray load takes the whole docker save archive: every RepoTag, into the registry.
        let load = try Dray.run(["load", "--all", "-s", dir.file("docker.tar"), "-d", b.host, "-o", dir.file("load-failed.txt")])
        #expect(load.status == 0, "\(load.stderr)")
        for (repo, tag) in [("library/busybox", "1"), ("other", "2")] {
            #expect(try await regClient.headManifest(repo, .tag(tag)) != nil, "\(repo):\(tag)")
        }
        // archive ls reads it as load does: every RepoTag, with the digest load pushed.
        let ls = try Dray.run(["archive", "ls", "--json", dir.file("docker.tar")])
        #expect(ls.status == 0, "\(ls.stderr)")
        let listed = (try? JSONSerialization.jsonObject(with: Data(ls.stdout)) as? [[String: Any]]) ?? []
        #expect(listed.compactMap { $0["name"] as? String } == ["docker.io/library/busybox:1", "example.com/other:2"])
        let pushed = try await regClient.headManifest("library/busybox", .tag("1"))?.digest.description
        #expect(listed.first?["digest"] as? String == pushed)

        // A link pointing out of the archive is refused, naming the entry.
        try fm.removeItem(atPath: "\(root)/linked/layer.tar")
        try fm.createSymbolicLink(atPath: "\(root)/linked/layer.tar", withDestinationPath: "../../../etc/passwd")
        _ = try Shell.check("tar", ["-cf", dir.file("evil.tar"), "-C", root, "."])
        let evil = try Dray.run(["copy", "docker-archive:\(dir.file("evil.tar")):example.com/other:2", "\(b.host)/d/evil:1"])
        #expect(evil.status != 0 && evil.stderr.contains("linked/layer.tar") && evil.stderr.contains("leaves the archive"), "\(evil.stderr)")
    }

    @Test("a layer too big to buffer streams from the archive once and is mounted into the other repository; where mounts are refused, another pass reads it again")
    func largeLayerLoad() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let big = try SyntheticImage.single(layers: 1, layerSize: 9 << 20, seed: 81)
        try await SyntheticImage.push(big, to: client, repository: "big/one", tag: "1")
        try await SyntheticImage.push(big, to: client, repository: "big/two", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(a.host)/big/one:1\n\(a.host)/big/two:1\n".write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        let save = try Dray.run(["save", "-f", dir.file("l.txt"), "-d", dir.file("big.tar.zst"), "--compress", "zstd",
                                 "--cache", dir.file("cache")])
        #expect(save.status == 0, "\(save.stderr)")
        let load = try Dray.run(["load", "--all", "-s", dir.file("big.tar.zst"), "-d", b.host, "--report", dir.file("r.json")])
        #expect(load.status == 0, "\(load.stderr)")
        let bc = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        for repo in ["big/one", "big/two"] {
            #expect(try await bc.manifest(repo, .tag("1")).bytes == big.top.bytes)
            for (d, _) in big.blobs.values { #expect(try await bc.headBlob(repo, d.digest) == d.size) }
        }
        let summary = try MirrorCLITests.report(dir.file("r.json"))["summary"] as! [String: Any]
        let sent = (summary["bytesCopied"] as? NSNumber)?.int64Value ?? 0
        let unique = big.blobs.values.reduce(Int64(0)) { $0 + $1.0.size }
        #expect(sent == unique, "each blob sent once (\(sent) vs \(unique))")

        // A registry that refuses every mount: the big layer, read once from the archive for the first repository,
        // is read again by another pass for the second; small blobs are sent again from memory.
        let c = try RegistryServer()
        let refusing = try FaultProxy(target: c.port) { r in
            // A mount from the other repository (a mount from its own is how dray asks whether a blob is there).
            let other = r.path.hasPrefix("/v2/big/one/") ? "big/two" : "big/one"
            let from = r.target.replacingOccurrences(of: "%2F", with: "/")
            return r.method == "POST" && from.contains("from=\(other)") ? .status(403) : .pass
        }
        let again = try Dray.run(["load", "--all", "-s", dir.file("big.tar.zst"), "-d", refusing.host, "--report", dir.file("r2.json")])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(refusing.faults >= 1, "a mount was asked for and refused")
        let cc = RegistryClient(registry: c.host, options: MirrorCLITests.noAuth)
        for repo in ["big/one", "big/two"] {
            #expect(try await cc.manifest(repo, .tag("1")).bytes == big.top.bytes)
            for (d, _) in big.blobs.values { #expect(try await cc.headBlob(repo, d.digest) == d.size) }
        }
        let s2 = try MirrorCLITests.report(dir.file("r2.json"))["summary"] as! [String: Any]
        #expect((s2["bytesCopied"] as? NSNumber)?.int64Value == 2 * unique, "every blob sent to each repository")
    }
}

@Suite("Disk full while saving", .serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct DiskFullCLITests {
    @Test("a save that runs out of space fails with a clear error; the cache folder stays consistent and loadable")
    func diskFull() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let small = try SyntheticImage.single(layers: 2, layerSize: 100_000, seed: 91)
        let big = try SyntheticImage.single(layers: 2, layerSize: 3 << 20, seed: 92)
        try await SyntheticImage.push(small, to: client, repository: "full/small", tag: "1")
        try await SyntheticImage.push(big, to: client, repository: "full/big", tag: "1")
        let dir = try TemporaryDirectory()
        let fs = dir.file("fs")
        try FileManager.default.createDirectory(atPath: fs, withIntermediateDirectories: true)
        _ = try Shell.check("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", fs])
        defer { _ = try? Shell.run("umount", [fs]) }
        let cache = "\(fs)/cache"
        try "\(a.host)/full/small:1\n".write(toFile: dir.file("one.txt"), atomically: false, encoding: .utf8)
        try "\(a.host)/full/small:1\n\(a.host)/full/big:1\n".write(toFile: dir.file("two.txt"), atomically: false, encoding: .utf8)

        let first = try Dray.run(["save", "-f", dir.file("one.txt"), "-d", "\(fs)/one.tar.gz", "--cache", cache])
        #expect(first.status == 0, "\(first.stderr)")
        let full = try Dray.run(["save", "-f", dir.file("two.txt"), "-d", "\(fs)/two.tar.gz", "--cache", cache,
                                 "--retries", "0", "-o", dir.file("failed.txt")])
        #expect(full.status != 0)
        #expect(full.stderr.contains("No space left on device"), "\(full.stderr.suffix(1500))")

        // No half-written blob, no temporary file, no archive under its final name.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: "\(cache)/blobs/sha256")
        #expect(!blobs.contains { $0.hasPrefix(".") }, "\(blobs)")
        for name in blobs {
            var h = Hasher256()
            h.update(Array(try Data(contentsOf: URL(fileURLWithPath: "\(cache)/blobs/sha256/\(name)"))))
            #expect(h.finalize().hex == name, "blob \(name) is whole")
        }
        // Where space ran out decides whether an archive of the images that fit could still be written: if one
        // exists, it is complete and holds only them.
        if FileManager.default.fileExists(atPath: "\(fs)/two.tar.gz") {
            let ls = try Dray.run(["archive", "ls", "--json", "\(fs)/two.tar.gz"])
            let names = (try JSONSerialization.jsonObject(with: Data(ls.stdout)) as? [[String: Any]] ?? []).map { $0["name"] as? String }
            #expect(names == ["\(a.host)/full/small:1"], "\(ls.stdoutText) \(ls.stderr)")
            #expect(try Dray.run(["decompress", "-f", "\(fs)/two.tar.gz", "-d", dir.file("check")]).status == 0)
        }
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: fs)).contains { $0.hasSuffix(".partial") })
        // The first archive is untouched, and the cache still loads what it holds.
        #expect(try Dray.run(["archive", "ls", "\(fs)/one.tar.gz"]).status == 0)
        let load = try Dray.run(["load", "--all", "-s", cache, "-d", b.host, "-o", dir.file("load-failed.txt")])
        #expect(load.status == 0, "\(load.stderr)")
        #expect(try await RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
            .headManifest("full/small", .tag("1"))?.digest == small.top.digest)
    }
}
