import Engine

/// A transport-qualified image name from the command line: `docker://REF` (the default when no prefix is given)
/// or `oci:PATH[:NAME]` (an OCI image layout folder; NAME may itself contain colons, e.g. a full reference).
public enum ImageLocator: Sendable, CustomStringConvertible {
    case docker(Reference)
    case ociLayout(path: String, name: String?)

    /// The transports dray knows, as typed on the command line.
    public static let knownTransports = ["docker://", "oci:"]

    /// Transport names of skopeo and containers/image that dray does not read (yet).
    static let otherTransports: Set<String> = [
        "oci-archive", "dir", "docker-archive", "docker-daemon", "containers-storage", "sif", "tarball",
    ]

    /// Parses `docker://REF` or a bare reference (which means `docker://`).
    public init(parsing s: String) throws {
        if s.hasPrefix("docker://") {
            self = .docker(try Reference(parsing: String(s.dropFirst("docker://".count))))
            return
        }
        if s.hasPrefix("oci:") {
            let rest = s.dropFirst(4)
            guard !rest.isEmpty else { throw ImageLocatorError.invalid(s, "oci: needs a folder path") }
            if let colon = rest.firstIndex(of: ":") {
                let name = String(rest[rest.index(after: colon)...])
                guard !name.isEmpty else { throw ImageLocatorError.invalid(s, "empty image name after the path") }
                self = .ociLayout(path: String(rest[..<colon]), name: name)
            } else {
                self = .ociLayout(path: String(rest), name: nil)
            }
            return
        }
        // `scheme://…`, or a transport name other tools use (`oci:`, `docker-archive:`…), is a transport prefix;
        // anything else with a colon is a reference with a port or a tag.
        if let colon = s.firstIndex(of: ":") {
            let prefix = String(s[..<colon])
            let isWord = !prefix.isEmpty && prefix.allSatisfy { ($0.isLetter && $0.isLowercase) || $0 == "-" }
            if isWord && (s[colon...].hasPrefix("://") || Self.otherTransports.contains(prefix)) {
                throw ImageLocatorError.unknownTransport(prefix)
            }
        }
        self = .docker(try Reference(parsing: s))
    }

    public var description: String {
        switch self {
        case .docker(let r): "docker://\(r)"
        case .ociLayout(let path, let name): "oci:\(path)\(name.map { ":\($0)" } ?? "")"
        }
    }
}

/// A transport prefix dray does not know.
public enum ImageLocatorError: Error, Sendable, CustomStringConvertible {
    case unknownTransport(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .unknownTransport(let t):
            "unknown transport \"\(t.prefix(40))\": known transports are \(ImageLocator.knownTransports.joined(separator: ", "))"
        case .invalid(let s, let why):
            "invalid image location \"\(s.prefix(300))\": \(why)"
        }
    }
}
