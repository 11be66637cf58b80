import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// The blob slots follow the link: through a source whose every connection is capped like a flow's share of
/// a slow link, a default run triples its blob transfers in flight and says so; a `--blob-jobs` given stays
/// fixed. Real distribution registries on both ends, the cap in `LatencyProxy`.
@Suite("Blob slots on a slow link")
struct BlobSlotsCLITests {
    @Test("flows capped at 3 MB/s raise the bound from 8 to 24 and the mirror completes; --blob-jobs 8 keeps 8",
          arguments: [false, true])
    func slowLink(fixed: Bool) async throws {
        let source = try RegistryServer()
        let destination = try RegistryServer()
        // 3 MB/s per connection and direction: a 1.2 MB layer takes about 0.4 s, under the 8 MB/s of FlowShare.
        let link = try LatencyProxy(target: source.port, delay: .zero, bytesPerSecond: 3_000_000)
        let client = RegistryClient(registry: source.host, options: MirrorCLITests.noAuth)
        var trees: [SyntheticImage.Tree] = []
        for i in 0..<3 {
            let tree = try SyntheticImage.index(platforms: [Platform(os: "linux", architecture: "amd64")], layers: 2,
                                                layerSize: 1_200_000, seed: UInt64(7100 + i))
            try await SyntheticImage.push(tree, to: client, repository: "slots/app\(i)", tag: "v1")
            trees.append(tree)
        }
        let dir = try TemporaryDirectory()
        let list = (0..<3).map { "\(link.host)/slots/app\($0):v1" }.joined(separator: "\n")
        try list.write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", destination.host, "-j", "3", "--all",
                              "-o", dir.file("failed.txt")] + (fixed ? ["--blob-jobs", "8"] : []))
        #expect(r.status == 0, "\(r.stderr)")
        let raised = r.stderr.contains("blob transfers in flight: 24")
        #expect(raised == !fixed, "\(r.stderr)")
        let dst = RegistryClient(registry: destination.host, options: MirrorCLITests.noAuth)
        for (i, tree) in trees.enumerated() {
            #expect(try await dst.manifest("slots/app\(i)", .tag("v1")).bytes == tree.top.bytes)
            for (d, _) in tree.blobs { #expect(try await dst.headBlob("slots/app\(i)", d) != nil, "blob \(d) missing") }
        }
    }
}
