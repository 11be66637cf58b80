// swift-tools-version:6.1
import Foundation
import PackageDescription

// libFuzzer targets for dray's parsers of untrusted text: image lists, sync configs, references, manifests,
// WWW-Authenticate challenges, Sigstore bundles and trusted roots. Not part of `swift test`; run with `bash scripts/fuzz.sh` from the repository root.

// The parent package's identity is its folder name, which differs between checkouts.
let parent = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "DrayFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "DrayFuzz",
            dependencies: [.product(name: "DrayKit", package: parent)],
            path: "Sources/DrayFuzz",
            // scripts/fuzz.sh builds every module with `-Xswiftc -sanitize=fuzzer,address` (coverage everywhere);
            // the target itself only needs libFuzzer's runtime at link time.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        ),
    ]
)
