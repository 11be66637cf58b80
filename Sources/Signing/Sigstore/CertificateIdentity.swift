import Engine
import FoundationEssentials

/// Who a keyless signature must come from: the certificate's subject alternative name and the OIDC issuer
/// Fulcio recorded, each given exactly or as a regular expression (cosign's `--certificate-identity[-regexp]`,
/// `--certificate-oidc-issuer[-regexp]`). A regular expression is searched for in the value, as cosign does
/// (anchor it with `^…$` to match the whole value).
public struct CertificateIdentity: Sendable, CustomStringConvertible {
    /// An exact value or a whole-value pattern.
    public enum Match: Sendable, CustomStringConvertible {
        case exact(String)
        case pattern(String)

        /// Whether `value` matches.
        public func matches(_ value: String) -> Bool {
            switch self {
            case .exact(let s): return s == value
            case .pattern(let p):
                guard let re = try? TextPattern(p) else { return false }
                return re.finds(in: value)
            }
        }

        public var description: String {
            switch self {
            case .exact(let s): s
            case .pattern(let p): "/\(p)/"
            }
        }
    }

    public var subject: Match
    public var issuer: Match

    /// Checks that the patterns compile.
    public init(subject: Match, issuer: Match) throws {
        for m in [subject, issuer] {
            if case .pattern(let p) = m, (try? TextPattern(p)) == nil {
                throw SigstoreFormatError("\"\(p.prefix(80))\" is not a valid regular expression")
            }
        }
        self.subject = subject
        self.issuer = issuer
    }

    /// Whether a certificate naming `sans` and `issuer` is this identity's.
    public func matches(sans: [String], issuer value: String?) -> Bool {
        guard let value, issuer.matches(value) else { return false }
        return sans.contains { subject.matches($0) }
    }

    public var description: String { "\(subject) (issuer \(issuer))" }
}
