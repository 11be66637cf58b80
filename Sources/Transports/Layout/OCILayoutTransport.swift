import Engine
import FoundationEssentials

/// Reads the image named `name` from an OCI layout.
public struct OCILayoutImageSource: ImageSource {
    public let layout: OCILayout
    /// The `org.opencontainers.image.ref.name` of the image.
    public let name: String

    public init(layout: OCILayout, name: String) {
        self.layout = layout
        self.name = name
    }

    public var location: RepositoryLocation { RepositoryLocation(storage: "oci:\(layout.path)", repository: name) }

    public func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        switch identifier {
        case .digest(let d): return layout.blobSize(d) != nil ? d : nil
        case .tag: return try layout.entry(named: name)?.digest
        }
    }

    public func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        let descriptor: Descriptor
        switch identifier {
        case .digest(let d):
            descriptor = Descriptor(mediaType: .ociManifest, digest: d, size: -1)
        case .tag:
            guard let entry = try layout.entry(named: name) else {
                throw LayoutError(path: "\(layout.path)/index.json", reason: "no image named \"\(name)\"")
            }
            descriptor = entry
        }
        let bytes = try layout.readBlob(descriptor.digest)
        let type: MediaType? = identifier == .digest(descriptor.digest) ? nil : descriptor.mediaType
        return try RawManifest(bytes: bytes, mediaType: type, expecting: descriptor.digest)
    }

    public func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        let path = layout.blobPath(descriptor.digest)
        guard layout.blobSize(descriptor.digest) != nil else {
            throw LayoutError(path: path, reason: "missing blob \(descriptor.digest)")
        }
        return try FileBlobStream(path: path)
    }

    public func tags() async throws -> [String]? { LayoutNaming.tags(alongside: name, in: try layout.names()) }
}

/// Writes an image into an OCI layout under `name`; blobs are shared by every image of the layout.
public struct OCILayoutImageDestination: ImageDestination {
    public let layout: OCILayout
    public let name: String

    public init(layout: OCILayout, name: String) {
        self.layout = layout
        self.name = name
    }

    public var location: RepositoryLocation { RepositoryLocation(storage: "oci:\(layout.path)", repository: name) }

    public func blobExists(_ descriptor: Descriptor) async throws -> Bool {
        layout.blobSize(descriptor.digest) == descriptor.size
    }

    /// Every image of a layout shares its blobs: "mounting" is finding the blob there.
    public func mountBlob(_ descriptor: Descriptor, from repository: String) async throws -> Bool {
        try await blobExists(descriptor)
    }

    public func putBlob(_ descriptor: Descriptor, from stream: any BlobStream) async throws {
        try await layout.writeBlob(descriptor, from: stream)
    }

    public func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        try await OCILayoutImageSource(layout: layout, name: name).manifestDigest(identifier)
    }

    public func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        try await OCILayoutImageSource(layout: layout, name: name).manifest(identifier)
    }

    public func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        try await OCILayoutImageSource(layout: layout, name: name).blob(descriptor)
    }

    public func tags() async throws -> [String]? { LayoutNaming.tags(alongside: name, in: try layout.names()) }

    /// By digest: stores the manifest as a blob. By tag: stores it and names it in `index.json` (the layout's
    /// name for the image is `name`, whatever the tag).
    public func putManifest(_ manifest: RawManifest, as identifier: ManifestIdentifier) async throws {
        try await layout.writeBlob(manifest.descriptor(), from: MemoryBlobStream(manifest.bytes))
        if case .tag = identifier {
            try layout.setEntry(manifest.descriptor(), named: name)
        }
    }
}
