import Foundation

/// Which attachments travel with images (`--referrers`, `--referrer-type`, `--exclude-referrer-type`,
/// `--max-referrers`, `--remove-signatures`).
public struct AttachmentPolicy: Sendable {
    /// The broad choice.
    public enum Scope: String, Sendable, CaseIterable {
        /// Everything attached.
        case all
        /// Signatures only: cosign `.sig`, Sigstore bundles, notation signatures.
        case signatures
        /// Nothing (no discovery either).
        case none
    }

    public var scope: Scope = .all
    /// Types to take (any match); empty takes every type the scope allows.
    public var include: [TypePattern] = []
    /// Types to leave out (any match).
    public var exclude: [TypePattern] = []
    /// Leave signatures out whatever else is taken (Hangar's `--remove-signatures`).
    public var removeSignatures = false
    /// The most referrers taken for one manifest; more are left out with a warning.
    public var maxReferrers = 1000
    /// How deep attachments of attachments are followed (a signature on an SBOM is depth 2).
    public var maxDepth = 4

    public init() {}

    /// Whether discovery runs at all.
    public var isEnabled: Bool { scope != .none && !(scope == .signatures && removeSignatures) }

    /// Why `a` is left out, or nil when it travels.
    public func exclusion(_ a: Attachment) -> String? {
        if removeSignatures && a.isSignature { return "a signature, and --remove-signatures is set" }
        if scope == .none { return "--referrers none" }
        if scope == .signatures && !a.isSignature { return "not a signature (--referrers signatures)" }
        let type = a.type
        if !include.isEmpty, !include.contains(where: { $0.matches(type) }) { return "type \(type) matches no --referrer-type" }
        if let e = exclude.first(where: { $0.matches(type) }) { return "type \(type) matches --exclude-referrer-type \(e.source)" }
        return nil
    }
}

/// A regular expression over attachment types, kept with its source for messages.
public struct TypePattern: Sendable {
    public let source: String
    private let regex: NSRegularExpression

    /// Compiles `source`; throws a one-line error naming `flag` when it is not a valid expression.
    public init(_ source: String, flag: String) throws {
        self.source = source
        do { regex = try NSRegularExpression(pattern: source) } catch {
            throw AttachmentPolicyError("\(flag) \(source): not a valid regular expression")
        }
    }

    public func matches(_ s: String) -> Bool { regex.finds(in: s) }
}

/// A policy flag that cannot be used.
public struct AttachmentPolicyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
