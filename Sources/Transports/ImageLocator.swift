import Engine

/// A transport-qualified image name from the command line: `docker://REF` (the default when no prefix is given).
public enum ImageLocator: Sendable, CustomStringConvertible {
    case docker(Reference)

    /// The transports dray knows, as typed on the command line.
    public static let knownTransports = ["docker://"]

    /// Parses `docker://REF` or a bare reference (which means `docker://`).
    public init(parsing s: String) throws {
        if s.hasPrefix("docker://") {
            self = .docker(try Reference(parsing: String(s.dropFirst("docker://".count))))
            return
        }
        // `word:` with no '/' or '.' before the colon and not followed by a port is a transport prefix.
        if let colon = s.firstIndex(of: ":") {
            let prefix = s[..<colon]
            let after = s[s.index(after: colon)...]
            let looksLikePort = after.first?.isNumber == true
            if !prefix.contains("/") && !prefix.contains(".") && !looksLikePort
                && (after.hasPrefix("//") || !after.contains("/") && prefix.allSatisfy { $0.isLetter || $0 == "-" }
                    && ["oci", "oci-archive", "dir", "docker-archive", "docker-daemon", "containers-storage"]
                        .contains(String(prefix)))
            {
                throw ImageLocatorError.unknownTransport(String(prefix))
            }
        }
        self = .docker(try Reference(parsing: s))
    }

    public var description: String {
        switch self {
        case .docker(let r): "docker://\(r)"
        }
    }
}

/// A transport prefix dray does not know.
public enum ImageLocatorError: Error, Sendable, CustomStringConvertible {
    case unknownTransport(String)

    public var description: String {
        switch self {
        case .unknownTransport(let t):
            "unknown transport \"\(t.prefix(40))\": known transports are \(ImageLocator.knownTransports.joined(separator: ", "))"
        }
    }
}
