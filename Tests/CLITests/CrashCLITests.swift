import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// `kill -9` in the middle of a run: no cleanup code runs, so only what was already safe on disk or at the registry
/// survives. A re-run must finish the job with every digest right, and leave no half-written file behind.
@Suite("kill -9 mid-run: the re-run finishes, nothing is left half-written", .serialized)
struct CrashCLITests {
    /// Starts dray, waits until its stderr contains `marker` (or it ends), then SIGKILLs it. Returns what it printed.
    static func killMidRun(_ args: [String], at marker: String) throws -> String {
        let err = Pipe()
        let p = try Dray.start(args, stderr: err)
        let seen = Dray.read(err, until: marker)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "dray ended before it was killed: \(seen.suffix(1500))")
        return seen
    }

    /// Images of two platforms with two ~0.5 MB layers each, pushed to `registry`; returns the list lines.
    static func seed(_ registry: RegistryServer, count: Int, seed: UInt64) async throws -> [(line: String, tree: SyntheticImage.Tree)] {
        let client = RegistryClient(registry: registry.host, options: MirrorCLITests.noAuth)
        var out: [(String, SyntheticImage.Tree)] = []
        for i in 0..<count {
            let tree = try SyntheticImage.index(layers: 2, layerSize: 500_000, seed: seed + UInt64(i), sharedBase: [5])
            try await SyntheticImage.push(tree, to: client, repository: "crash/app\(i)", tag: "1")
            out.append(("\(registry.host)/crash/app\(i):1", tree))
        }
        return out
    }

    @Test("mirror killed twice mid-run: what is tagged is whole, an earlier failed list is untouched, a re-run completes")
    func mirror() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let images = try await Self.seed(a, count: 8, seed: 9100)
        let dir = try TemporaryDirectory()
        try images.map(\.line).joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        try "from an earlier run\n".write(toFile: dir.file("failed.txt"), atomically: false, encoding: .utf8)
        let args = ["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-j", "2", "--blob-jobs", "2",
                    "-o", dir.file("failed.txt"), "--report", dir.file("report.json")]
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)

        // Killed once images are being copied, and again later in the re-run.
        for marker in ["[IMG:1] Copied", "[IMG:3] Copied"] {
            _ = try Self.killMidRun(args, at: marker)
            #expect(try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8) == "from an earlier run\n")
            #expect(!FileManager.default.fileExists(atPath: dir.file("report.json")))
            // Every image the destination has under its tag is complete: the tag is written last.
            var tagged = 0
            for (i, image) in images.enumerated() {
                guard let head = try await dst.headManifest("crash/app\(i)", .tag("1")) else { continue }
                tagged += 1
                #expect(head.digest == image.tree.top.digest)
                try await RegistryConsistency.expectComplete(dst, repository: "crash/app\(i)", tree: image.tree)
            }
            #expect(tagged < images.count, "the kill came after the run had finished")
        }

        let rerun = try Dray.run(args)
        #expect(rerun.status == 0, "\(rerun.stderr.suffix(1500))")
        // As in Hangar, the failed list is written only when something failed.
        #expect(try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8) == "from an earlier run\n")
        for (i, image) in images.enumerated() {
            #expect(try await dst.manifest("crash/app\(i)", .tag("1")).bytes == image.tree.top.bytes)
            try await RegistryConsistency.expectComplete(dst, repository: "crash/app\(i)", tree: image.tree)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("save killed mid-download and mid-archive: the cache stays consistent, no partial archive, a re-run completes")
    func save() async throws {
        let a = try RegistryServer()
        // 12 images at -j 2: killed after the first is copied (up to 4 more may be done by then: checked ahead, they
        // take the slots as soon as they free), then after the seventh.
        let images = try await Self.seed(a, count: 12, seed: 9200)
        let dir = try TemporaryDirectory()
        try images.map(\.line).joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let cache = dir.file("cache")
        let archive = dir.file("saved.tar.zst")
        let args = ["save", "-f", dir.file("list.txt"), "-d", archive, "--compress", "zstd", "--cache", cache,
                    "--all", "-j", "2", "--blob-jobs", "2", "-o", dir.file("failed.txt"), "-y"]

        for marker in ["[IMG:1] Copied", "[IMG:7] Copied"] {
            _ = try Self.killMidRun(args, at: marker)
            // No archive under its final name; whatever the cache holds is whole.
            #expect(!FileManager.default.fileExists(atPath: archive))
            try LayoutConsistency.expectConsistent(cache)
        }
        // The killed runs left unfinished files; the next run removes them.
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") }
        #expect(!before.isEmpty, "the archive is written while downloading, so a killed save leaves its unfinished file")
        let save = try Dray.run(args)
        #expect(save.status == 0, "\(save.stderr.suffix(1500))")
        try LayoutConsistency.expectConsistent(cache, allowTemporaries: false)
        let after = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") }
        #expect(after.isEmpty, "left behind: \(after) (before the re-run: \(before))")

        // The archive loads into an empty registry with every digest.
        let b = try RegistryServer()
        let load = try Dray.run(["load", "--all", "-s", archive, "-d", b.host, "-o", dir.file("load-failed.txt")])
        #expect(load.status == 0, "\(load.stderr.suffix(1500))")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        for (i, image) in images.enumerated() {
            #expect(try await dst.manifest("crash/app\(i)", .tag("1")).bytes == image.tree.top.bytes)
        }
    }
}

/// Checks that a registry holds every manifest and blob of an image.
enum RegistryConsistency {
    static func expectComplete(_ client: RegistryClient, repository: String, tree: SyntheticImage.Tree,
                               sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for child in tree.children {
            #expect(try await client.headManifest(repository, .digest(child.digest)) != nil, sourceLocation: sourceLocation)
        }
        for digest in tree.blobs.keys {
            #expect(try await client.headBlob(repository, digest) != nil, "\(repository): \(digest) missing",
                    sourceLocation: sourceLocation)
        }
    }
}

/// Checks an OCI layout folder the way a reader would trust it: every blob under `blobs/sha256` hashes to its
/// name, and every image `index.json` names has all its manifests, configs and layers.
enum LayoutConsistency {
    static func expectConsistent(_ path: String, allowTemporaries: Bool = true,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let blobs = "\(path)/blobs/sha256"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: blobs)) ?? [] {
            if name.hasPrefix(".tmp-") {
                #expect(allowTemporaries, "temporary file left: \(name)", sourceLocation: sourceLocation)
                continue
            }
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(blobs)/\(name)")))
            #expect(Digest.sha256(of: bytes).hex == name, "blob \(name) does not match its name", sourceLocation: sourceLocation)
        }
        guard FileManager.default.fileExists(atPath: "\(path)/index.json") else { return }
        let layout = try OCILayout(path: path, create: false)
        var pending = try layout.index().manifests
        while let d = pending.popLast() {
            guard layout.blobSize(d.digest) == d.size else {
                Issue.record("\(d.digest) named by the layout is missing or of the wrong size", sourceLocation: sourceLocation)
                continue
            }
            guard d.mediaType.isManifest || d.mediaType.isIndex else { continue }
            let manifest = try RawManifest(bytes: layout.readBlob(d.digest), mediaType: d.mediaType)
            switch try manifest.parsed() {
            case .index(let index): pending += index.manifests
            case .image(let image): pending += [image.config] + image.layers
            default: break
            }
        }
    }
}
