import ArgumentParser
import Engine
import Foundation
import Signing
import Transports

/// `dray verify`: check cosign signatures of images in a registry.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the cosign signatures of images against public keys; exit 1 if any image fails.",
        discussion: """
            For each image, the manifest its tag (or digest) points at must carry a signature that verifies with \
            one of the keys over the exact payload, names that manifest's digest, and names the image as the \
            identity rule requires (containers/image's rules; default repo-digest-or-exact: by digest the \
            repository must match, by tag the tag too). Reasons: unsigned, bad signature, digest mismatch, \
            identity mismatch.

            Examples:
              dray verify --key cosign.pub reg.local/app:1.0
              dray verify --key cosign.pub -f images.txt --identity repository --report verify.json --format json
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: SignatureTargetOptions
    @OptionGroup var access: SingleRegistryOptions

    @Option(name: .long, help: ArgumentHelp("A public key (PEM); repeat for several.", valueName: "file"))
    var key: [String] = []

    @Option(name: .long, help: "exact, repository, repo-digest-or-exact or remap:PREFIX=SIGNED_PREFIX.")
    var identity: String = "repo-digest-or-exact"

    @Option(name: .long, help: ArgumentHelp("Also write the results to this file.", valueName: "file"))
    var report: String?

    @Option(name: .long, help: "Report format: text, json or csv.")
    var format: String = "text"

    struct Row: Sendable, Codable {
        var image: String
        var digest: String?
        var result: String
        var reason: String?
    }

    func run() async throws {
        try await reportingErrors {
            guard ["text", "json", "csv"].contains(format) else { throw CLIError("--format: \"\(format.prefix(40))\" is not text, json or csv") }
            let (refs, listErrors) = try targets.references()
            let verifier = try VerifierOptions.make(keys: key, identity: identity, keyFlag: "--key")
            let logger = global.makeLogger("dray.verify")
            let options = try access.registryOptions()
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: options, destination: options)
            var rows = listErrors.map { Row(image: $0.line, digest: nil, result: "FAIL", reason: $0.description) }
            rows += await refs.concurrentMap(limit: targets.concurrency.value(logger: logger)) { ref -> Row in
                do {
                    guard let digest = try await pool.destination(ref).manifestDigest(ManifestIdentifier(ref)) else {
                        return Row(image: ref.description, digest: nil, result: "FAIL", reason: "not found")
                    }
                    let verdict = try await verifier.verify(digest, image: ref,
                                                            in: DestinationSignatureStore(image: ref, destination: pool.destination))
                    switch verdict {
                    case .pass(let n, let who):
                        return Row(image: ref.description, digest: digest.description, result: "PASS",
                                   reason: "\(n) signature\(n == 1 ? "" : "s"), signed as \(who)")
                    case .fail(let why):
                        return Row(image: ref.description, digest: digest.description, result: "FAIL", reason: why.description)
                    }
                } catch {
                    return Row(image: ref.description, digest: nil, result: "FAIL", reason: "\(error)")
                }
            }
            for r in rows { print("\(r.result) \(r.image)\(r.digest.map { " \($0)" } ?? ""): \(r.reason ?? "")") }
            let failures = rows.filter { $0.result != "PASS" }.count
            print("\(rows.count - failures) passed, \(failures) failed")
            if let report { try AtomicFile.write(try Self.render(rows, format: format), to: report) }
            if failures > 0 { throw ExitCode.failure }
        }
    }

    static func render(_ rows: [Row], format: String) throws -> [UInt8] {
        switch format {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(rows))
        case "csv":
            func field(_ s: String?) -> String {
                let v = s ?? ""
                return v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"\(v.replacingOccurrences(of: "\"", with: "\"\""))\"" : v
            }
            return Array((["image,digest,result,reason"] + rows.map { [$0.image, $0.digest, $0.result, $0.reason].map(field).joined(separator: ",") })
                .joined(separator: "\n").utf8) + [0x0a]
        default:
            return Array(rows.map { "\($0.result) \($0.image)\($0.digest.map { " \($0)" } ?? ""): \($0.reason ?? "")" }.joined(separator: "\n").utf8) + [0x0a]
        }
    }
}
