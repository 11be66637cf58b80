import FoundationEssentials

/// What a copy takes of an image under a platform filter: the one decision that mirror, save and copy share.
///
/// - An index keeps the entries the filter selects and is rewritten without the others (a new digest).
/// - A single-platform image is kept when its config's platform matches, as Hangar does; an image whose config
///   names no platform (an artifact) passes.
/// - An image pinned by digest (`repo@sha256:…`) is copied exactly as it is: the filter is not applied, since a
///   rewritten index could not be written under the digest the pin names.
public struct PlatformSelection: Sendable {
    /// The top manifest as it will be written: the source's own bytes, or a filtered index.
    public var written: RawManifest
    /// The index entries kept, in index order (empty for an image manifest).
    public var children: [Descriptor]
    /// The platforms written: index entries' platforms (attestations left out), or the image's own.
    public var platforms: [Platform]
    /// Whether an index was rewritten without some of its entries.
    public var rewritten: Bool
    /// Why the filter was not applied, for the log (a digest pin); nil when it was.
    public var notApplied: String?

    /// Reads a blob whole (an image config), for the single-image case.
    public typealias ConfigReader = @Sendable (Descriptor) async throws -> [UInt8]

    /// Decides what of `top` to copy. Throws `CopyError.noMatchingPlatform` when the filter selects nothing.
    public static func decide(_ top: RawManifest, pinned: Bool, filter: PlatformFilter,
                              config: ConfigReader) async throws -> PlatformSelection
    {
        switch try top.parsed() {
        case .schema1:
            return PlatformSelection(written: top, children: [], platforms: [], rewritten: false)
        case .index(let index):
            let selected = IndexSelection.select(index, filter)
            let ignoresFilter = pinned && selected.count < index.manifests.count
            let entries = ignoresFilter ? index.manifests : selected
            let platforms = IndexSelection.platforms(of: entries)
            let note = ignoresFilter ? "pinned by digest: copied whole, \(filter) not applied" : nil
            guard !entries.isEmpty else {
                throw CopyError.noMatchingPlatform(filter, available: index.manifests.compactMap { $0.platform?.description })
            }
            guard entries.count < index.manifests.count else {
                return PlatformSelection(written: top, children: entries, platforms: platforms, rewritten: false,
                                         notApplied: note)
            }
            return PlatformSelection(written: try top.filteringIndex(keeping: Set(entries.map(\.digest))),
                                     children: entries, platforms: platforms, rewritten: true)
        case .image(let image):
            guard !filter.isAll else { return PlatformSelection(written: top, children: [], platforms: [], rewritten: false) }
            let platform = ImageConfigPlatform.parse(try await config(image.config))
            guard filter.matches(platform) else {
                if pinned {
                    return PlatformSelection(written: top, children: [], platforms: platform.map { [$0] } ?? [],
                                             rewritten: false, notApplied: "pinned by digest: copied as it is, \(filter) not applied")
                }
                throw CopyError.noMatchingPlatform(filter, available: platform.map { [$0.description] } ?? [])
            }
            return PlatformSelection(written: top, children: [], platforms: platform.map { [$0] } ?? [], rewritten: false)
        }
    }
}

/// The platform an image config declares (`os`, `architecture`, `variant`), if it declares one.
enum ImageConfigPlatform {
    private struct Fields: Decodable {
        var os: String?
        var architecture: String?
        var variant: String?
    }

    /// The platform of a config's JSON; nil for a config that names none (artifacts, empty configs) or is not JSON.
    static func parse(_ bytes: [UInt8]) -> Platform? {
        guard let f = try? JSONDecoder().decode(Fields.self, from: Data(bytes)),
              let os = f.os, !os.isEmpty, let arch = f.architecture, !arch.isEmpty
        else { return nil }
        return Platform(os: os, architecture: arch, variant: f.variant)
    }
}

extension ImageSource {
    /// A small blob read whole and checked against its descriptor (an image config); fails past `limit` bytes.
    public func smallBlob(_ descriptor: Descriptor, limit: Int64 = Int64(RawManifest.maxSize)) async throws -> [UInt8] {
        guard descriptor.size <= limit else { throw BlobVerificationError.tooLong(digest: descriptor.digest, expected: limit) }
        let stream = VerifyingStream(try await blob(descriptor), expecting: descriptor)
        var out: [UInt8] = []
        while let chunk = try await stream.next() { out += chunk }
        return out
    }
}
