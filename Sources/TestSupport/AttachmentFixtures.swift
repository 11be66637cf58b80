import Engine
import Foundation
import Transports

/// Attachments as the tools that make them write them, for tests: Sigstore bundles, SBOMs, notation signatures
/// and Helm charts as OCI 1.1 referrers; cosign v2's legacy `.sig`, `.att` and `.sbom` tags.
///
/// Pushing keeps the referrers list the way a client must on a registry without the referrers API: the
/// manifest by digest, then the subject's `sha256-<hex>` fallback index with an entry appended. This is written
/// here from the distribution spec, independently of dray's own code.
public enum AttachmentFixtures {
    /// The OCI empty descriptor's blob (`{}`).
    public static let emptyConfig: (Descriptor, [UInt8]) = {
        let bytes = Array("{}".utf8)
        return (Descriptor(mediaType: "application/vnd.oci.empty.v1+json", digest: .sha256(of: bytes), size: 2), bytes)
    }()

    public static let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    public static let notationType = "application/vnd.cncf.notary.signature"
    public static let spdxType = "application/spdx+json"
    public static let helmConfigType = "application/vnd.cncf.helm.config.v1+json"

    /// A referrer of `subject`: an OCI image manifest with `artifactType` (none when nil), a config (the empty
    /// one unless given), one layer of `layerType` holding `payload`, and `annotations`.
    public static func referrer(of subject: RawManifest, artifactType: String?, layerType: String, payload: [UInt8],
                                config: (Descriptor, [UInt8])? = nil, annotations: [String: String] = [:]) throws -> SyntheticImage.Built {
        let layer = Descriptor(mediaType: MediaType(rawValue: layerType), digest: .sha256(of: payload), size: Int64(payload.count))
        let config = config ?? emptyConfig
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": MediaType.ociManifest.rawValue,
            "config": try descriptorJSON(config.0), "layers": [try descriptorJSON(layer)],
            "subject": try descriptorJSON(subject.descriptor()),
        ]
        if let artifactType { object["artifactType"] = artifactType }
        if !annotations.isEmpty { object["annotations"] = annotations }
        let bytes = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        return SyntheticImage.Built(manifest: try RawManifest(bytes: bytes, mediaType: .ociManifest), blobs: [config, (layer, payload)])
    }

    /// A cosign v3 style Sigstore bundle referrer (the bundle is opaque here: `note` makes it unique).
    public static func bundle(of subject: RawManifest, note: String = "1") throws -> SyntheticImage.Built {
        let payload = Array(#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"\#(note)"}]}}"#.utf8)
        return try referrer(of: subject, artifactType: bundleType, layerType: bundleType, payload: payload, annotations: [
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
            "org.opencontainers.image.created": "2026-01-01T00:00:00Z",
        ])
    }

    /// An SPDX SBOM referrer, as syft/trivy/oras attach one.
    public static func sbom(of subject: RawManifest) throws -> SyntheticImage.Built {
        try referrer(of: subject, artifactType: spdxType, layerType: spdxType,
                     payload: Array(#"{"spdxVersion":"SPDX-2.3","name":"\#(subject.digest.hex.prefix(12))"}"#.utf8),
                     annotations: ["org.opencontainers.image.created": "2026-01-01T00:00:00Z"])
    }

    /// A notation signature referrer (a JWS envelope).
    public static func notation(of subject: RawManifest) throws -> SyntheticImage.Built {
        try referrer(of: subject, artifactType: notationType, layerType: "application/jose+json",
                     payload: Array(#"{"payload":"e30","protected":"e30","signature":"c2ln"}"#.utf8),
                     annotations: ["io.cncf.notary.x509chain.thumbprint#S256": "[\"ab\"]"])
    }

    /// A Helm chart artifact attached as a referrer, typed by its config (no `artifactType`).
    public static func helmChart(of subject: RawManifest) throws -> SyntheticImage.Built {
        let config = Array(#"{"name":"chart","version":"1.0.0","apiVersion":"v2"}"#.utf8)
        return try referrer(of: subject, artifactType: nil, layerType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                            payload: SyntheticImage.gzip(SyntheticImage.tar(fileName: "chart/Chart.yaml", contents: Array("name: chart\n".utf8))),
                            config: (Descriptor(mediaType: MediaType(rawValue: helmConfigType), digest: .sha256(of: config), size: Int64(config.count)), config))
    }

    /// cosign v2's legacy attachment of `kind` for `subject`: an image manifest with one layer (a simple-signing
    /// payload with the real cosign signature annotation form, a DSSE envelope, or an SPDX document).
    public static func legacy(_ kind: String, of subject: RawManifest, note: String = "1") throws -> SyntheticImage.Built {
        let (layerType, payload, annotations): (String, [UInt8], [String: String]) = switch kind {
        case "sig":
            ("application/vnd.dev.cosign.simplesigning.v1+json",
             Array(#"{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"\#(subject.digest)"},"type":"cosign container image signature"},"optional":{"n":"\#(note)"}}"#.utf8),
             ["dev.cosignproject.cosign/signature": "MEUCIQ\(note)"])
        case "att":
            ("application/vnd.dsse.envelope.v1+json", Array(#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"\#(note)"}]}"#.utf8),
             ["predicateType": "https://slsa.dev/provenance/v0.2"])
        default:
            ("text/spdx+json", Array(#"{"spdxVersion":"SPDX-2.3","note":"\#(note)"}"#.utf8), [:])
        }
        let layer = Descriptor(mediaType: MediaType(rawValue: layerType), digest: .sha256(of: payload), size: Int64(payload.count),
                               annotations: annotations.isEmpty ? nil : annotations)
        let config = Array(#"{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":["\#(layer.digest)"]}}"#.utf8)
        let configDescriptor = Descriptor(mediaType: .ociConfig, digest: .sha256(of: config), size: Int64(config.count))
        let object: [String: Any] = [
            "schemaVersion": 2, "mediaType": MediaType.ociManifest.rawValue,
            "config": try descriptorJSON(configDescriptor), "layers": [try descriptorJSON(layer)],
        ]
        let bytes = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        return SyntheticImage.Built(manifest: try RawManifest(bytes: bytes, mediaType: .ociManifest),
                                    blobs: [(configDescriptor, config), (layer, payload)])
    }

    /// Pushes the blobs and the manifest of `built` by digest.
    public static func pushManifest(_ built: SyntheticImage.Built, to client: RegistryClient, repository: String) async throws {
        for (d, bytes) in built.blobs where try await client.headBlob(repository, d.digest) == nil {
            try await client.uploadBlob(repository, d) { MemoryBlobStream(bytes) }
        }
        try await client.putManifest(repository, .digest(built.manifest.digest), built.manifest)
    }

    /// Pushes a referrer and, unless `fallback` is false (a registry with the API), appends it to the subject's
    /// fallback index.
    public static func pushReferrer(_ built: SyntheticImage.Built, subject: Digest, to client: RegistryClient, repository: String,
                                    fallback: Bool = true) async throws {
        try await pushManifest(built, to: client, repository: repository)
        guard fallback else { return }
        let tag = "\(subject.algorithm.rawValue)-\(subject.hex)"
        var entries: [Any] = []
        if try await client.headManifest(repository, .tag(tag)) != nil,
           let old = try JSONSerialization.jsonObject(with: Data(try await client.manifest(repository, .tag(tag)).bytes)) as? [String: Any] {
            entries = old["manifests"] as? [Any] ?? []
        }
        guard case .image(let m) = try built.manifest.parsed() else { return }
        var entry = try descriptorJSON(built.manifest.descriptor()) as! [String: Any]
        entry["artifactType"] = m.artifactType ?? m.config.mediaType.rawValue
        if let a = m.annotations { entry["annotations"] = a }
        entries.append(entry)
        try await putIndex(entries, to: client, repository: repository, tag: tag)
    }

    /// Writes an image index of `entries` (JSON objects) under `tag`.
    public static func putIndex(_ entries: [Any], to client: RegistryClient, repository: String, tag: String) async throws {
        let object: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": entries]
        let bytes = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        try await client.putManifest(repository, .tag(tag), try RawManifest(bytes: bytes, mediaType: .ociIndex))
    }

    /// Pushes a legacy cosign attachment under `sha256-<hex>.<kind>`.
    public static func pushLegacy(_ built: SyntheticImage.Built, kind: String, subject: Digest, to client: RegistryClient,
                                  repository: String) async throws {
        try await pushManifest(built, to: client, repository: repository)
        try await client.putManifest(repository, .tag("\(subject.algorithm.rawValue)-\(subject.hex).\(kind)"), built.manifest)
    }

    /// The digests listed under a fallback tag, or nil when there is none.
    public static func fallbackList(_ client: RegistryClient, _ repository: String, _ subject: Digest) async throws -> [Digest]? {
        let tag = "\(subject.algorithm.rawValue)-\(subject.hex)"
        guard try await client.headManifest(repository, .tag(tag)) != nil else { return nil }
        guard case .index(let i) = try await client.manifest(repository, .tag(tag)).parsed() else { return nil }
        return i.manifests.map(\.digest)
    }

    private static func descriptorJSON(_ d: Descriptor) throws -> Any {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try JSONSerialization.jsonObject(with: encoder.encode(d))
    }
}
