import Engine
import FoundationEssentials

/// One entry of a tar archive.
public struct TarEntry: Sendable {
    public enum Kind: Sendable, Equatable {
        case file, directory
        /// A symbolic link to `target` (only from a reader that allows them; never created on disk).
        case symlink(target: String)
    }
    /// A relative path with no `..`, checked.
    public var name: String
    public var kind: Kind
    public var size: Int64
}

/// Reads a tar stream entry by entry (ustar, with PAX and GNU long names).
///
/// Only plain files and folders are accepted, with relative names that stay inside the archive: absolute paths,
/// `..`, symbolic and hard links, devices and FIFOs are refused with an error naming the entry, so extracting can
/// never write outside its destination.
public final class TarReader {
    private let source: any ByteSource
    private var buffer: [UInt8] = []
    private var offset = 0
    private var remaining: Int64 = 0
    private var padding = 0

    private let allowSymlinks: Bool

    /// With `allowSymlinks`, symbolic links are returned as entries (for `docker save` archives, which link
    /// repeated layers) instead of refused; the caller resolves them within the archive and never creates them.
    public init(_ source: any ByteSource, allowSymlinks: Bool = false) {
        self.source = source
        self.allowSymlinks = allowSymlinks
    }

    /// Makes at least `n` unread bytes available in `buffer`; false at the end of the source.
    private func fill(_ n: Int) throws -> Bool {
        while buffer.count - offset < n {
            guard let more = try source.read(max: Self.readSize) else { return false }
            if offset == buffer.count {
                buffer = more  // the common case: nothing left over, so the new chunk is kept as it is
            } else {
                // A header or a small read straddles two chunks: join what is left of the old one with the new.
                buffer = Array(buffer[offset...]) + more
            }
            offset = 0
        }
        return true
    }

    private static let readSize = 1 << 20

    private func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard try fill(n) else { throw LayoutError(path: "tar", reason: "the archive ends in the middle of an entry") }
        defer { offset += n }
        return buffer[offset..<(offset + n)]
    }

    /// The next entry, or nil at the end of the archive. The previous entry's unread content is skipped.
    public func next() throws -> TarEntry? {
        while remaining > 0 { _ = try readContent(max: 1 << 20) }
        if padding > 0 {
            _ = try take(padding)
            padding = 0
        }
        var longName: String?
        while true {
            guard try fill(512) else { throw LayoutError(path: "tar", reason: "the archive ends without its end marker (truncated?)") }
            let header = Array(try take(512))
            if header.allSatisfy({ $0 == 0 }) { return nil }
            guard Self.checksumOK(header) else { throw LayoutError(path: "tar", reason: "corrupted tar header") }
            let size = try Self.number(header[124..<136])
            let type = header[156]
            var name = Self.string(header[0..<100])
            let prefix = Self.string(header[345..<500])
            if Self.string(header[257..<262]) == "ustar", !prefix.isEmpty { name = prefix + "/" + name }
            if let l = longName { name = l; longName = nil }
            // `tar -C layout .` names entries ./index.json, ./blobs/…, and the folder itself ./
            while name.hasPrefix("./") { name.removeFirst(2) }
            if name.isEmpty || name == ".", type == UInt8(ascii: "5") {
                _ = try take(Int(size + (512 - size % 512) % 512))
                continue
            }
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "x"):
                // GNU long name, or PAX extended header: the payload names the next entry.
                guard size <= 1 << 20 else { throw LayoutError(path: name, reason: "oversized extended header") }
                let payload = Array(try take(Int(size)))
                _ = try take(Int((512 - size % 512) % 512))
                longName = type == UInt8(ascii: "L") ? Self.string(payload[...]) : Self.paxPath(payload) ?? longName
                continue
            case UInt8(ascii: "g"):
                _ = try take(Int(size + (512 - size % 512) % 512))
                continue
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                try Self.checkName(name)
                remaining = size
                padding = Int((512 - size % 512) % 512)
                return TarEntry(name: name, kind: .file, size: size)
            case UInt8(ascii: "5"):
                try Self.checkName(name)
                return TarEntry(name: name, kind: .directory, size: 0)
            case UInt8(ascii: "2") where allowSymlinks:
                try Self.checkName(name)
                return TarEntry(name: name, kind: .symlink(target: Self.string(header[157..<257])), size: 0)
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw LayoutError(path: name, reason: "links are not allowed in an image archive")
            default:
                throw LayoutError(path: name, reason: "entry type '\(Character(UnicodeScalar(type)))' is not allowed in an image archive")
            }
        }
    }

    /// Up to `max` bytes of the current entry's content, or nil when it is all read. A chunk of the source that
    /// lies wholly inside the entry is handed out as it is, without copying.
    public func readContent(max: Int) throws -> [UInt8]? {
        guard remaining > 0 else { return nil }
        let n = Int(min(Int64(max), remaining))
        guard try fill(1) else { throw LayoutError(path: "tar", reason: "the archive ends in the middle of an entry") }
        let available = min(n, buffer.count - offset)
        let chunk: [UInt8]
        if offset == 0, available == buffer.count {
            chunk = buffer
            buffer = []
        } else {
            chunk = Array(buffer[offset..<(offset + available)])
            offset += available
        }
        remaining -= Int64(chunk.count)
        return chunk
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, !name.hasPrefix("/"),
              !name.split(separator: "/", omittingEmptySubsequences: true).contains(".."),
              !name.contains("\0")
        else { throw LayoutError(path: name, reason: "unsafe path in archive (absolute or with ..)") }
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func number(_ field: ArraySlice<UInt8>) throws -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            // GNU base-256 for large sizes.
            return field.dropFirst().reduce(Int64(first & 0x7f)) { ($0 << 8) | Int64($1) }
        }
        let text = string(field).trimmingSpaces()
        if text.isEmpty { return 0 }
        guard let v = Int64(text, radix: 8), v >= 0 else { throw LayoutError(path: "tar", reason: "corrupted tar header") }
        return v
    }

    static func checksumOK(_ h: [UInt8]) -> Bool {
        guard let stored = try? number(h[148..<156]) else { return false }
        var sum: Int64 = 0
        for (i, b) in h.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int64(b) }
        return sum == stored
    }

    static func paxPath(_ payload: [UInt8]) -> String? {
        // Records: "LEN key=value\n".
        for record in String(decoding: payload, as: UTF8.self).split(separator: "\n") {
            guard let space = record.firstIndex(of: " ") else { continue }
            let kv = record[record.index(after: space)...]
            if kv.hasPrefix("path=") { return String(kv.dropFirst(5)) }
        }
        return nil
    }
}

/// Extracts an archived OCI layout into a folder, verifying every blob against the digest in its name as it is
/// written (temp name, then rename), so a corrupted archive never leaves a bad blob behind.
public enum LayoutExtractor {
    /// Extracts the entries `include` accepts (all by default); returns the number of files written.
    public static func extract(_ source: any ByteSource, into dir: String, include: (String) -> Bool = { _ in true }) throws -> Int {
        let reader = TarReader(try ArchiveFormat.open(source))
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var files = 0
        while let entry = try reader.next() {
            let target = "\(dir)/\(entry.name)"
            guard include(entry.name) else { continue }
            switch entry.kind {
            case .symlink:
                throw LayoutError(path: entry.name, reason: "links are not allowed in an image archive")
            case .directory:
                try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            case .file:
                try fm.createDirectory(atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path,
                                       withIntermediateDirectories: true)
                let parts = entry.name.split(separator: "/")
                var expected: Digest?
                if parts.count == 3, parts[0] == "blobs" {
                    expected = try? Digest(parsing: "\(parts[1]):\(parts[2])")
                    guard expected != nil else { throw LayoutError(path: entry.name, reason: "not a blob name") }
                }
                let sink = try FileSink(path: target)
                var hasher = Hasher256(algorithm: expected?.algorithm ?? .sha256)
                while let chunk = try reader.readContent(max: 1 << 20) {
                    hasher.update(chunk)
                    try sink.write(chunk)
                }
                if let expected, hasher.finalize() != expected {
                    throw LayoutError(path: entry.name, reason: "blob \(expected) is corrupted in the archive")
                }
                try sink.finish()
                files += 1
            }
        }
        return files
    }
}
