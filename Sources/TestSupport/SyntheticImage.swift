import CZlib
import Engine
import Foundation
import Transports

/// Reproducible synthetic images: real gzip-compressed tar layers, configs with matching diff_ids, manifests and
/// indexes in OCI or Docker media types. Used by the tests and to seed the demo's registry.
public struct SyntheticImage: Sendable {
    /// Media type family.
    public enum Format: String, Sendable, CaseIterable { case oci, docker }

    /// A manifest and the blobs it needs.
    public struct Built: Sendable {
        public var manifest: RawManifest
        public var blobs: [(Descriptor, [UInt8])]
        public init(manifest: RawManifest, blobs: [(Descriptor, [UInt8])]) {
            self.manifest = manifest
            self.blobs = blobs
        }
    }

    /// A built image or index with every manifest and blob it needs.
    public struct Tree: Sendable {
        public var top: RawManifest
        public var children: [RawManifest]
        public var blobs: [Digest: (Descriptor, [UInt8])]
    }

    /// A deterministic pseudo-random generator (SplitMix64), so a seed always gives the same bytes.
    public struct Random: Sendable {
        var state: UInt64
        public init(seed: UInt64) { state = seed }
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        public mutating func bytes(_ n: Int) -> [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(n + 8)
            while out.count < n {
                var v = next()
                withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
            }
            return Array(out.prefix(n))
        }
    }

    /// A one-file tar archive.
    public static func tar(fileName: String, contents: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, at offset: Int, width: Int) {
            for (i, b) in s.utf8.prefix(width).enumerated() { header[offset + i] = b }
        }
        func octal(_ v: Int, width: Int) -> String {
            let s = String(v, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - s.count)) + s
        }
        put(fileName, at: 0, width: 100)
        put(octal(0o644, width: 8), at: 100, width: 7)
        put(octal(0, width: 8), at: 108, width: 7)
        put(octal(0, width: 8), at: 116, width: 7)
        put(octal(contents.count, width: 12), at: 124, width: 11)
        put(octal(1_700_000_000, width: 12), at: 136, width: 11)
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        for i in 148..<156 { header[i] = 0x20 }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7), at: 148, width: 6)
        header[154] = 0
        header[155] = 0x20
        var out = header + contents
        out += [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }

    /// gzip-compresses bytes with zlib.
    public static func gzip(_ input: [UInt8], level: Int32 = 1) -> [UInt8] {
        var stream = z_stream()
        precondition(dray_deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK)
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        var input = input
        let produced: Int = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(stream.avail_out)
            }
        }
        return Array(out.prefix(produced))
    }

    /// One platform image: `layers` layers of `layerSize` random (incompressible) bytes each, from `seed`.
    /// Layers from `sharedBase` seeds come first, so images built with the same base share those blobs.
    public static func image(platform: Platform, format: Format = .oci, layers: Int = 2, layerSize: Int = 4096,
                             seed: UInt64, sharedBase: [UInt64] = [], baseLayerSize: Int = 50_000,
                             labels: [String: String] = [:]) throws -> Built {
        var blobs: [(Descriptor, [UInt8])] = []
        var diffIDs: [String] = []
        var layerDescriptors: [Descriptor] = []
        let layerType: MediaType = format == .oci ? .ociLayerGzip : .dockerLayer
        let own = (0..<layers).map { (seed: seed &* 1000 &+ UInt64($0), size: layerSize) }
        for (layerSeed, size) in sharedBase.map({ (seed: $0, size: baseLayerSize) }) + own {
            var rng = Random(seed: layerSeed)
            let tarball = tar(fileName: "file-\(layerSeed).bin", contents: rng.bytes(size))
            let gz = gzip(tarball)
            diffIDs.append(Digest.sha256(of: tarball).description)
            let d = Descriptor(mediaType: layerType, digest: .sha256(of: gz), size: Int64(gz.count))
            layerDescriptors.append(d)
            blobs.append((d, gz))
        }
        var config: [String: Any] = [
            "architecture": platform.architecture, "os": platform.os, "created": "2024-01-01T00:00:00Z",
            "config": ["Labels": labels, "Env": ["PATH=/usr/bin:/bin"]],
            "rootfs": ["type": "layers", "diff_ids": diffIDs],
            "history": diffIDs.map { _ in ["created": "2024-01-01T00:00:00Z", "created_by": "dray synthetic"] },
        ]
        if let v = platform.variant { config["variant"] = v }
        let configBytes = Array(try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]))
        let configDescriptor = Descriptor(mediaType: format == .oci ? .ociConfig : .dockerConfig,
                                          digest: .sha256(of: configBytes), size: Int64(configBytes.count))
        blobs.insert((configDescriptor, configBytes), at: 0)
        let manifest = ImageManifest(mediaType: format == .oci ? .ociManifest : .dockerManifest,
                                     config: configDescriptor, layers: layerDescriptors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(manifest))
        return Built(manifest: try RawManifest(bytes: bytes, mediaType: manifest.mediaType), blobs: blobs)
    }

    /// The standard three platforms: linux/amd64, linux/arm64, linux/arm/v7.
    public static let threePlatforms = [
        Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64", variant: "v8"),
        Platform(os: "linux", architecture: "arm", variant: "v7"),
    ]

    /// A multi-platform index over images built for `platforms`.
    public static func index(platforms: [Platform] = threePlatforms, format: Format = .oci, layers: Int = 2,
                             layerSize: Int = 4096, seed: UInt64, sharedBase: [UInt64] = [], baseLayerSize: Int = 50_000,
                             annotations: [String: String]? = nil) throws -> Tree {
        var children: [RawManifest] = []
        var blobs: [Digest: (Descriptor, [UInt8])] = [:]
        var entries: [Descriptor] = []
        for (i, p) in platforms.enumerated() {
            let built = try image(platform: p, format: format, layers: layers, layerSize: layerSize,
                                  seed: seed &* 100 &+ UInt64(i), sharedBase: sharedBase.map { $0 &* 100 &+ UInt64(i) },
                                  baseLayerSize: baseLayerSize)
            children.append(built.manifest)
            for (d, b) in built.blobs { blobs[d.digest] = (d, b) }
            entries.append(built.manifest.descriptor(platform: p))
        }
        let index = ImageIndex(mediaType: format == .oci ? .ociIndex : .dockerManifestList, manifests: entries,
                               annotations: annotations)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(index))
        return Tree(top: try RawManifest(bytes: bytes, mediaType: index.mediaType), children: children, blobs: blobs)
    }

    /// A single-image tree.
    public static func single(platform: Platform = Platform(os: "linux", architecture: "amd64"),
                              format: Format = .oci, layers: Int = 2, layerSize: Int = 4096, seed: UInt64) throws -> Tree {
        let built = try image(platform: platform, format: format, layers: layers, layerSize: layerSize, seed: seed)
        var blobs: [Digest: (Descriptor, [UInt8])] = [:]
        for (d, b) in built.blobs { blobs[d.digest] = (d, b) }
        return Tree(top: built.manifest, children: [], blobs: blobs)
    }

    /// Pushes a tree to `repository:tag` through dray's own registry client.
    public static func push(_ tree: Tree, to client: RegistryClient, repository: String, tag: String) async throws {
        for (d, bytes) in tree.blobs.values where try await client.headBlob(repository, d.digest) == nil {
            try await client.uploadBlob(repository, d) { MemoryBlobStream(bytes) }
        }
        for child in tree.children { try await client.putManifest(repository, .digest(child.digest), child) }
        try await client.putManifest(repository, .tag(tag), tree.top)
    }
}
