extension String {
    /// This text with control characters written out (`\x1b`, `\r`, `\u{9b}`), newlines and tabs kept.
    ///
    /// Lists, configs, archives and registries are not trusted: an escape sequence in an image name or an error
    /// body must not recolour, clear or retitle the user's terminal, or hide text behind a carriage return, when it
    /// is logged.
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: Self.isEscaped) else { return self }
        var out = String.UnicodeScalarView()
        for s in unicodeScalars {
            guard Self.isEscaped(s) else { out.append(s); continue }
            let text: String
            switch s {
            case "\r": text = "\\r"
            case _ where s.value < 0x100: text = "\\x" + (s.value < 0x10 ? "0" : "") + String(s.value, radix: 16)
            default: text = "\\u{" + String(s.value, radix: 16) + "}"
            }
            out.append(contentsOf: text.unicodeScalars)
        }
        return String(out)
    }

    private static func isEscaped(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0a, 0x09: false
        case 0..<0x20, 0x7f..<0xa0: true
        // Bidirectional overrides and isolates can reorder what a line appears to say.
        case 0x202a...0x202e, 0x2066...0x2069: true
        default: false
        }
    }
}
