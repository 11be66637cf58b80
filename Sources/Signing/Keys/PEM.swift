import FoundationEssentials

/// A PEM block: `-----BEGIN LABEL-----`, base64, `-----END LABEL-----`.
struct PEM {
    var label: String
    var der: [UInt8]

    /// The first PEM block of `text`.
    init(parsing text: String, file: String) throws {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces() }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") }) else {
            throw KeyError(file: file, reason: "not a PEM file (no BEGIN line)")
        }
        let label = String(lines[begin].dropFirst("-----BEGIN ".count).dropLast(5))
        guard let end = lines[begin...].firstIndex(of: "-----END \(label)-----") else {
            throw KeyError(file: file, reason: "truncated: no END \(label) line")
        }
        guard let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()), !der.isEmpty else {
            throw KeyError(file: file, reason: "the \(label) block is not valid base64")
        }
        self.label = label
        self.der = Array(der)
    }

    init(label: String, der: [UInt8]) {
        self.label = label
        self.der = der
    }

    /// The block as text, 64 characters per line.
    var text: String {
        let b64 = Data(der).base64EncodedString()
        var out = "-----BEGIN \(label)-----\n"
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            out += b64[i..<j] + "\n"
            i = j
        }
        return out + "-----END \(label)-----\n"
    }
}

/// A key that cannot be used, naming the file and why (never the key material).
public struct KeyError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}
