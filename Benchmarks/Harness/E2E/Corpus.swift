import Engine
import Foundation
import TestSupport
import Transports

/// The synthetic corpus, pushed into the source registry: reproducible from its sizes and seeds.
struct Corpus {
    /// `images` three-platform indexes (Docker and OCI media types alternating) sharing one base layer per
    /// platform, each platform with one random layer of its own.
    var images: Int
    var layerSize: Int
    var baseSize: Int
    /// One single-layer image of this many bytes.
    var bigSize: Int64
    /// Tiny single-platform images.
    var smallImages: Int
    /// Whether every corpus image has a bundle, an SBOM and a cosign .sig attached to its index.
    var attached = false

    static let base: UInt64 = 7

    /// Repositories, as `bench/appN:1`.
    var imageNames: [String] { (0..<images).map { "bench/app\($0):1" } }
    var smallNames: [String] { (0..<smallImages).map { "small/s\($0):1" } }
    /// Tags per corpus image for the wide no-op (200 images from 20) and for the immutable no-op (1,000).
    static let wideTags = 10
    static let immutableTags = 50
    var wideNames: [String] { (0..<Self.wideTags).flatMap { k in (0..<images).map { "bench/app\($0):w\(k)" } } }
    var immutableNames: [String] { (0..<Self.immutableTags).flatMap { k in (0..<images).map { "bench/app\($0):v1.0.\(k)" } } }
    let bigName = "big/layer:1"

    /// Unique blob bytes of the multi-platform corpus (layers and configs; manifests aside).
    var uniqueBytes: Int64 = 0

    /// Pushes everything the scenarios need; returns the unique bytes of the corpus.
    mutating func seed(_ client: RegistryClient, scenarios: Set<String>, scratch: String) async throws {
        var seen = Set<Digest>()
        if !scenarios.isDisjoint(with: ["cold", "noop", "save", "load", "faults", "noop200", "immutable", "wan", "memory"]) {
            for i in 0..<images {
                let tree = try SyntheticImage.index(format: i % 2 == 0 ? .oci : .docker, layers: 1, layerSize: layerSize,
                                                    seed: 1000 + UInt64(i), sharedBase: [Self.base], baseLayerSize: baseSize)
                for (d, _) in tree.blobs.values where seen.insert(d.digest).inserted { uniqueBytes += d.size }
                try await SyntheticImage.push(tree, to: client, repository: "bench/app\(i)", tag: "1")
                // More tags of the same image: a wide list of distinct references without more bytes.
                if scenarios.contains("noop200") {
                    for k in 0..<Self.wideTags { try await client.putManifest("bench/app\(i)", .tag("w\(k)"), tree.top) }
                }
                if scenarios.contains("immutable") {
                    for k in 0..<Self.immutableTags { try await client.putManifest("bench/app\(i)", .tag("v1.0.\(k)"), tree.top) }
                }
                if attached {
                    for b in [try AttachmentFixtures.bundle(of: tree.top), try AttachmentFixtures.sbom(of: tree.top)] {
                        try await AttachmentFixtures.pushReferrer(b, subject: tree.top.digest, to: client, repository: "bench/app\(i)")
                    }
                    let sig = try AttachmentFixtures.legacy("sig", of: tree.top)
                    try await AttachmentFixtures.pushLegacy(sig, kind: "sig", subject: tree.top.digest, to: client, repository: "bench/app\(i)")
                }
            }
        }
        if scenarios.contains("small") {
            for i in 0..<smallImages {
                let tree = try SyntheticImage.single(layers: 1, layerSize: 2048, seed: 50_000 + UInt64(i))
                try await SyntheticImage.push(tree, to: client, repository: "small/s\(i)", tag: "1")
            }
        }
        if scenarios.contains("big") || scenarios.contains("wan-big") { try await seedBig(client, scratch: scratch) }
    }

    /// One image with a single layer of `bigSize` random bytes, generated into a file and streamed up.
    private func seedBig(_ client: RegistryClient, scratch: String) async throws {
        let path = "\(scratch)/big-layer"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = FileHandle(forWritingAtPath: path)!
        var rng = SyntheticImage.Random(seed: 99)
        var hasher = Hasher256()
        var left = bigSize
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        while left > 0 {
            let n = Int(min(Int64(chunk.count), left))
            chunk.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in 0..<(n + 7) / 8 where i < words.count { words[i] = rng.next() }
            }
            let slice = Array(chunk[0..<n])
            hasher.update(slice)
            handle.write(Data(slice))
            left -= Int64(n)
        }
        try handle.close()
        let layer = Descriptor(mediaType: .ociLayer, digest: hasher.finalize(), size: bigSize)
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(layer.digest)"]}}"#.utf8)
        let configDescriptor = Descriptor(mediaType: .ociConfig, digest: .sha256(of: config), size: Int64(config.count))
        try await client.uploadBlob("big/layer", layer) { try FileBlobStream(path: path) }
        try await client.uploadBlob("big/layer", configDescriptor) { MemoryBlobStream(config) }
        let manifest = ImageManifest(mediaType: .ociManifest, config: configDescriptor, layers: [layer])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await client.putManifest("big/layer", .tag("1"),
                                     try RawManifest(bytes: Array(try encoder.encode(manifest)), mediaType: .ociManifest))
        try? FileManager.default.removeItem(atPath: path)
    }
}
