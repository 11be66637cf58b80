/// A content digest, `algorithm:hex`, as used by OCI descriptors and the distribution API.
///
/// sha256 is the algorithm dray computes; sha512 digests parse so that content addressed with them can be
/// named and reported, and are verified too when encountered.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable, Comparable {
    /// The digest algorithms dray understands.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case sha256
        case sha512

        /// Number of hex characters in an encoded digest of this algorithm.
        public var hexLength: Int {
            switch self {
            case .sha256: 64
            case .sha512: 128
            }
        }
    }

    /// The algorithm.
    public let algorithm: Algorithm
    /// The lower-case hex encoding.
    public let hex: String

    /// Parses `sha256:<64 hex>` or `sha512:<128 hex>`; upper-case hex is rejected, as the OCI spec requires.
    public init(parsing string: String) throws(DigestError) {
        guard let colon = string.firstIndex(of: ":") else { throw .invalid(string) }
        let algo = String(string[..<colon])
        let hex = String(string[string.index(after: colon)...])
        guard let algorithm = Algorithm(rawValue: algo) else { throw .unsupportedAlgorithm(algo) }
        guard hex.utf8.count == algorithm.hexLength,
              hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { throw .invalid(string) }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Builds a digest from raw hash bytes.
    public init(algorithm: Algorithm, bytes: some Sequence<UInt8>) {
        self.algorithm = algorithm
        self.hex = Hex.encode(bytes)
    }

    /// The sha256 digest of `bytes`.
    public static func sha256(of bytes: some Collection<UInt8>) -> Digest {
        var h = Hasher256()
        h.update(bytes)
        return h.finalize()
    }

    /// `algorithm:hex`.
    public var description: String { "\(algorithm.rawValue):\(hex)" }

    /// The hex with its algorithm as a file-name-safe string, e.g. `sha256-abc…` (the cosign tag form).
    public var dashed: String { "\(algorithm.rawValue)-\(hex)" }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do { self = try Digest(parsing: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public static func < (a: Digest, b: Digest) -> Bool { a.description < b.description }
}

/// Why a string is not a digest.
public enum DigestError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case unsupportedAlgorithm(String)
    case mismatch(expected: Digest, actual: Digest)

    public var description: String {
        switch self {
        case .invalid(let s): "invalid digest \"\(s.prefix(200))\""
        case .unsupportedAlgorithm(let a): "unsupported digest algorithm \"\(a.prefix(40))\""
        case .mismatch(let e, let a): "digest mismatch: expected \(e), got \(a)"
        }
    }
}

/// Lower-case hex encoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lower-case hex.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one hex digit (either case), or nil for any other byte.
    @inline(__always)
    public static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }
}
