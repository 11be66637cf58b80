import Engine

/// A transport-qualified image name from the command line: `docker://REF` (the default when no prefix is given),
/// `oci:PATH[:NAME]` (an OCI image layout folder), `oci-archive:PATH[:NAME]` (a tar of one, plain, gzip or zstd,
/// parts found automatically) or `docker-archive:PATH[:REF]` (a `docker save` archive, read only). NAME may
/// itself contain colons, e.g. a full reference; PATH may not.
public enum ImageLocator: Sendable, CustomStringConvertible {
    case docker(Reference)
    case ociLayout(path: String, name: String?)
    case ociArchive(path: String, name: String?)
    case dockerArchive(path: String, name: String?)

    /// The transports dray knows, as typed on the command line.
    public static let knownTransports = ["docker://", "oci:", "oci-archive:", "docker-archive:"]

    /// Transport names of skopeo and containers/image that dray does not read (yet).
    static let otherTransports: Set<String> = ["dir", "docker-daemon", "containers-storage", "sif", "tarball"]

    /// `PATH[:NAME]` after a transport prefix.
    private static func pathAndName(_ rest: Substring, _ s: String, _ transport: String) throws -> (String, String?) {
        guard !rest.isEmpty, !rest.hasPrefix(":") else { throw ImageLocatorError.invalid(s, "\(transport): needs a path") }
        guard let colon = rest.firstIndex(of: ":") else { return (String(rest), nil) }
        let name = String(rest[rest.index(after: colon)...])
        guard !name.isEmpty else { throw ImageLocatorError.invalid(s, "empty image name after the path") }
        return (String(rest[..<colon]), name)
    }

    /// Parses `docker://REF` or a bare reference (which means `docker://`).
    public init(parsing s: String) throws {
        if s.hasPrefix("docker://") {
            self = .docker(try Reference(parsing: String(s.dropFirst("docker://".count))))
            return
        }
        for transport in ["oci", "oci-archive", "docker-archive"] where s.hasPrefix(transport + ":") {
            let (path, name) = try Self.pathAndName(s.dropFirst(transport.count + 1), s, transport)
            switch transport {
            case "oci": self = .ociLayout(path: path, name: name)
            case "oci-archive": self = .ociArchive(path: path, name: name)
            default: self = .dockerArchive(path: path, name: name)
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
        case .ociArchive(let path, let name): "oci-archive:\(path)\(name.map { ":\($0)" } ?? "")"
        case .dockerArchive(let path, let name): "docker-archive:\(path)\(name.map { ":\($0)" } ?? "")"
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
