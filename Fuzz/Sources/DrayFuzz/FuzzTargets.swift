import Engine
import Foundation
import Signing
import Transports

/// The parsers fuzzed, chosen with `DRAY_FUZZ_TARGET`. Each must return (or throw a typed error) for any input:
/// a crash, a trap or a sanitizer report is a finding.
enum FuzzTarget: String, CaseIterable {
    case list, config, reference, manifest, challenge, bundle, trustedroot

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["DRAY_FUZZ_TARGET"] ?? "list"
        guard let t = FuzzTarget(rawValue: name) else {
            fatalError("DRAY_FUZZ_TARGET=\(name): expected one of \(allCases.map(\.rawValue))")
        }
        return t
    }()

    func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        switch self {
        case .list:
            // What `dray mirror -f` does with a list: parse, then name the targets.
            let (entries, errors) = ImageList.parse(text, file: "fuzz.txt")
            let naming = MirrorNaming(sourceRegistry: "src.example:5000", destinationRegistry: "dst.example",
                                      sourceProject: nil, destinationProject: "team")
            _ = naming.targets(entries, file: "fuzz.txt")
            // The same list with Windows line endings means the same images on the same lines.
            if !text.contains("\r") {
                let crlf = ImageList.parse(text.replacingOccurrences(of: "\n", with: "\r\n"), file: "fuzz.txt")
                guard crlf.entries.map(\.lineNumber) == entries.map(\.lineNumber),
                      crlf.entries.map(\.source) == entries.map(\.source),
                      crlf.errors.map(\.lineNumber) == errors.map(\.lineNumber)
                else { fatalError("the list parses differently with CRLF line endings") }
            }
        case .config:
            guard let config = try? SyncConfig.parse(configText: text, file: "fuzz.yaml") else { return }
            // Expand the rules as `dray mirror --config` does, with a fixed tag list for every repository.
            let done = DispatchSemaphore(value: 0)
            Task {
                _ = await config.targets(defaultRegistry: "src.example", defaultNamespace: "library",
                                         destinationRegistry: "dst.example") { _ in ["1.0", "2.0-rc1", "latest"] }
                done.signal()
            }
            done.wait()
        case .reference:
            if let r = try? Reference(parsing: text) {
                // A parsed reference prints back to one that parses to the same thing.
                guard let again = try? Reference(parsing: r.description), again == r else {
                    fatalError("reference \(r) does not round-trip")
                }
            }
            _ = try? Digest(parsing: text)
        case .manifest:
            if let m = try? RawManifest(bytes: bytes, mediaType: nil) { _ = try? m.parsed() }
        case .challenge:
            _ = AuthChallenge.parse(text)
        case .bundle:
            // A Sigstore bundle as a registry referrer or a file gives it; its DSSE envelope's encoding too.
            if let b = try? SigstoreBundle(json: bytes), case .dsse(let envelope) = b.content { _ = envelope.preAuthenticationEncoding }
        case .trustedroot:
            _ = try? TrustedRoot(json: bytes)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}

/// libFuzzer's driver, for programs that keep their own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The entry point SwiftPM links an executable target to: hands over to libFuzzer.
@_cdecl("DrayFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}
