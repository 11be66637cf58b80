import FoundationEssentials

/// image-syncer's `--records`: what earlier runs mirrored (source and destination digests per target and platform
/// filter), so that a later run skips an image whose source digest is unchanged without asking the destination.
///
/// The file is JSON: `{"version": 1, "images": {"SRC => DST [FILTER]": {"source": "sha256:…", "destination": "sha256:…"}}}`.
/// It is trusted as written: an image deleted at the destination behind dray's back stays skipped until the
/// entry (or the file) is removed, or `--force` is given.
public struct MirrorRecords: Sendable, Codable, Hashable {
    /// The digests of one mirrored image.
    public struct Entry: Sendable, Codable, Hashable {
        /// The source's top-level digest when it was mirrored.
        public var source: String
        /// What was written under the destination tag.
        public var destination: String

        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    public var version = 1
    public var images: [String: Entry] = [:]

    public init(images: [String: Entry] = [:]) { self.images = images }

    /// The key of a target: source, destination and platform filter (a different filter writes another index).
    public static func key(source: String, destination: String, platforms: PlatformFilter) -> String {
        "\(source) => \(destination) [\(platforms)]"
    }

    /// The entry recorded for a target, if any.
    public func entry(source: String, destination: String, platforms: PlatformFilter) -> Entry? {
        images[Self.key(source: source, destination: destination, platforms: platforms)]
    }

    /// Reads the file at `path`; a missing file is an empty record.
    public static func load(_ path: String) throws -> MirrorRecords {
        guard FileManager.default.fileExists(atPath: path) else { return MirrorRecords() }
        let text: String
        do { text = try TextFile.read(path, limit: 256 << 20) } catch {
            throw MirrorRecordsError(path: path, reason: "\(error)")
        }
        do { return try JSONDecoder().decode(MirrorRecords.self, from: Data(text.utf8)) } catch {
            throw MirrorRecordsError(path: path, reason: "not a records file written by dray (remove it to start afresh)")
        }
    }

    /// Records the run's results: images copied or found in place are recorded, failed ones forgotten.
    public mutating func update(with results: [MirrorResult], platforms: PlatformFilter) {
        for r in results {
            let key = Self.key(source: r.source, destination: r.destination, platforms: platforms)
            if r.status != .failed, !(r.status == .skipped && r.warning != nil && r.platforms.isEmpty),
               let source = r.sourceDigest, let destination = r.digest {
                images[key] = Entry(source: source, destination: destination)
            } else {
                images[key] = nil
            }
        }
    }

    /// Writes the records atomically, keys sorted.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(Array(try encoder.encode(self)) + [0x0a], to: path)
    }
}

/// A records file that cannot be used.
public struct MirrorRecordsError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "--records \(path): \(reason)" }
}
