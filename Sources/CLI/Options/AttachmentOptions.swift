import ArgumentParser
import Engine

/// Which attachments (OCI referrers, cosign tags) travel with images, shared by every command that moves images.
struct AttachmentOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "What travels with images: all (referrers, cosign .sig/.att/.sbom tags), signatures (cosign .sig, Sigstore bundles, notation) or none.",
        valueName: "all|signatures|none"))
    var referrers: String = "all"

    @Option(name: .long, help: ArgumentHelp(
        "Take only attachments whose artifact type matches this regular expression (repeatable; cosign tags match as cosign.sig, cosign.att, cosign.sbom).",
        valueName: "regex"))
    var referrerType: [String] = []

    @Option(name: .long, help: ArgumentHelp("Leave out attachments whose artifact type matches this regular expression (repeatable).", valueName: "regex"))
    var excludeReferrerType: [String] = []

    @Option(name: .long, help: ArgumentHelp("The most referrers taken for one manifest; more are left out with a warning.", valueName: "n"))
    var maxReferrers: Int = 1000

    @Option(name: .long, help: ArgumentHelp(
        "How referrers are written at the destination: auto (the referrers API where the registry serves it, else the sha256-<hex> fallback tag), api (the API only) or tag (always the fallback tag).",
        valueName: "auto|api|tag"))
    var referrersMode: String = "auto"

    /// The policy these flags describe (`removeSignatures`: Hangar's `--remove-signatures`), checked.
    func policy(removeSignatures: Bool = false) throws -> AttachmentPolicy {
        var p = AttachmentPolicy()
        guard let scope = AttachmentPolicy.Scope(rawValue: referrers) else {
            throw CLIError("--referrers: \"\(referrers.prefix(40))\" is not all, signatures or none")
        }
        guard (1...100_000).contains(maxReferrers) else { throw CLIError("--max-referrers must be between 1 and 100000") }
        p.scope = scope
        p.maxReferrers = maxReferrers
        p.removeSignatures = removeSignatures
        do {
            p.include = try referrerType.map { try TypePattern($0, flag: "--referrer-type") }
            p.exclude = try excludeReferrerType.map { try TypePattern($0, flag: "--exclude-referrer-type") }
        } catch let e as AttachmentPolicyError {
            throw CLIError(e.description)
        }
        return p
    }

    /// `--referrers-mode`, checked.
    func mode() throws -> ReferrersMode {
        guard let m = ReferrersMode(rawValue: referrersMode) else {
            throw CLIError("--referrers-mode: \"\(referrersMode.prefix(40))\" is not auto, api or tag")
        }
        return m
    }
}
