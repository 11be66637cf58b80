import FoundationEssentials

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

    /// The one artifact type a registry may filter the referrers API by: the only `--referrer-type`, when it names
    /// a media type literally (the list is filtered here again, whatever the registry did).
    public var serverFilter: String? {
        guard include.count == 1, let t = include.first?.literalType else { return nil }
        return t
    }

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
    private let regex: TextPattern

    /// Compiles `source`; throws a one-line error naming `flag` when it is not a valid expression.
    public init(_ source: String, flag: String) throws {
        self.source = source
        do { regex = try TextPattern(source) } catch {
            throw AttachmentPolicyError("\(flag) \(source): not a valid regular expression")
        }
    }

    /// Whether the expression finds in `s`, or `s` is the pattern itself or its literal type (so
    /// `application/spdx+json` and `^application/spdx+json$` match the media type they spell, although `+` is a
    /// regex quantifier).
    public func matches(_ s: String) -> Bool { s == source || s == literalType || regex.finds(in: s) }

    /// The media type an anchored pattern spells out (`^type/subtype$`, `.` and `+` escaped or not): what a
    /// registry's exact `artifactType` filter can take. Nil for any other pattern, which only dray can apply.
    public var literalType: String? {
        guard source.hasPrefix("^"), source.hasSuffix("$"), source.count > 2 else { return nil }
        var inner = String(source.dropFirst().dropLast())
        for c in [".", "+", "-", "/"] { inner = inner.replacing("\\" + c, with: c) }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./+-_")
        guard inner.filter({ $0 == "/" }).count == 1, inner.allSatisfy(allowed.contains), !inner.hasPrefix("/"), !inner.hasSuffix("/")
        else { return nil }
        return inner
    }
}

/// A policy flag that cannot be used.
public struct AttachmentPolicyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
