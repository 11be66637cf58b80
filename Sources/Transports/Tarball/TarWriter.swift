import Engine
import FoundationEssentials

/// Writes a POSIX ustar archive. Entries are deterministic: mode 0644/0755, owner 0, time 0.
public final class TarWriter {
    private let sink: any ByteSink
    private static let zeroBlock = [UInt8](repeating: 0, count: 512)

    public init(_ sink: any ByteSink) { self.sink = sink }

    /// A folder entry (`name` ends with "/").
    public func addDirectory(_ name: String) throws {
        try sink.write(try Self.header(name: name.hasSuffix("/") ? name : name + "/", size: 0, type: "5", mode: 0o755))
    }

    /// A file entry whose bytes come from `read` (called until it returns nil); exactly `size` bytes must come.
    public func addFile(_ name: String, size: Int64, read: () throws -> [UInt8]?) throws {
        try sink.write(try Self.header(name: name, size: size, type: "0", mode: 0o644))
        var written: Int64 = 0
        while let chunk = try read() {
            written += Int64(chunk.count)
            guard written <= size else { throw LayoutError(path: name, reason: "grew while being archived") }
            try sink.write(chunk)
        }
        guard written == size else { throw LayoutError(path: name, reason: "shrank while being archived") }
        let pad = Int((512 - size % 512) % 512)
        if pad > 0 { try sink.write(Array(Self.zeroBlock.prefix(pad))) }
    }

    /// A file entry from memory.
    public func addFile(_ name: String, bytes: [UInt8]) throws {
        var sent = false
        try addFile(name, size: Int64(bytes.count)) {
            defer { sent = true }
            return sent ? nil : bytes
        }
    }

    /// Ends the archive (two zero blocks) and finishes the sink.
    public func finish() throws {
        try sink.write(Self.zeroBlock + Self.zeroBlock)
        try sink.finish()
    }

    static func header(name: String, size: Int64, type: Character, mode: Int) throws -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        var (prefix, base) = ("", name)
        if name.utf8.count > 100 {
            // ustar splits long names at a '/' into prefix (≤155) and name (≤100).
            guard let cut = name.indices.filter({ name[$0] == "/" }).last(where: {
                name[..<$0].utf8.count <= 155 && name[name.index(after: $0)...].utf8.count <= 100
            }) else { throw LayoutError(path: name, reason: "name too long for a tar entry") }
            prefix = String(name[..<cut])
            base = String(name[name.index(after: cut)...])
        }
        func put(_ s: String, _ offset: Int, _ width: Int) {
            for (i, b) in s.utf8.prefix(width).enumerated() { h[offset + i] = b }
        }
        func octal(_ v: Int64, _ width: Int) -> String {
            let s = String(v, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - s.count)) + s
        }
        put(base, 0, 100)
        put(octal(Int64(mode), 8), 100, 7)
        put(octal(0, 8), 108, 7)
        put(octal(0, 8), 116, 7)
        guard size < 0o77777777777 else { throw LayoutError(path: name, reason: "larger than 8 GiB (ustar limit)") }
        put(octal(size, 12), 124, 11)
        put(octal(0, 12), 136, 11)
        h[156] = UInt8(ascii: type.unicodeScalars.first!)
        put("ustar", 257, 6)
        put("00", 263, 2)
        put(prefix, 345, 155)
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int64($1) }
        put(octal(sum, 7), 148, 6)
        h[154] = 0
        h[155] = 0x20
        return h
    }
}
