// swift-tools-version:6.1
import Foundation
import PackageDescription

/// dray — a container-image transfer engine.
///
/// Targets, one concern each:
/// - `Engine`: image model (references, digests, manifests), the transport protocols and the copy engine.
///   Depends on no transport.
/// - `Transports`: HTTP over libcurl and the docker-registry transport (OCI-dir and tarball follow).
/// - `Signing`: sigstore signer and validator (OpenSSL).
/// - `CLI`: the `dray` executable; parses flags and calls the engine.
/// - `COpenSSL`, `CZstd`, `CZlib`, `CSodium`: system libraries from Debian's -dev packages; `CCurl`: libcurl's
///   headers (libcurl4-openssl-dev) and a loader that opens the library when the first transfer needs it.
/// Release builds on Linux lay the binary out so that the code a run executes sits together (issue 20: memory).
/// Every function gets its own section, and lld places the ones `Sources/CLI/dray.order` lists (what `dray`
/// executed in the workloads of `scripts/order-file.sh`) first, in that order: a run then touches about 2 MB of
/// code pages instead of 8–17 MB spread over the 19 MB of text. Relative relocations are packed (RELR): 2 MB of
/// `.rela.dyn` the loader read at every start become 16 KB. A stale order file costs memory, never correctness.
/// C++'s standard library, which the Swift runtime uses for 25 functions, is linked statically: `Linking/` holds a
/// `libstdc++.so` linker script that points `-lstdc++` at `libstdc++.a` (0.8 MB less memory for every run). The
/// binary exports one symbol only, GnuTLS's start-up hook (`gnutlsHook` below), not the 7,000 of the static Swift
/// runtime's `-export-dynamic`, which is there for plugins that link against the executable (dray loads none):
/// every symbol lookup of every shared library at start-up searched them first (`--no-export-dynamic`, 0.7 MB less).
/// Without lld on the PATH (Swift toolchains ship it next to swiftc) the build links as before, without the layout.
let packageDirectory = String(#filePath.dropLast("/Package.swift".count))
let hasLLD = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    .contains { FileManager.default.isExecutableFile(atPath: "\($0)/ld.lld") }
let releaseLayout: [SwiftSetting] = hasLLD ? [
    .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release)),
] : []
let releaseLinking: [LinkerSetting] = hasLLD ? [
    .unsafeFlags(["-use-ld=lld",
                  "-Xlinker", "--symbol-ordering-file=\(packageDirectory)/Sources/CLI/dray.order",
                  "-Xlinker", "--no-warn-symbol-ordering",
                  "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                  "-Xlinker", "--no-export-dynamic",
                  "-L\(packageDirectory)/Linking"],
                 .when(platforms: [.linux], configuration: .release)),
] : []
/// The one symbol the binary exports, on every build: GnuTLS's hook that skips its start-up initialisation
/// (`Sources/Transports/HTTP/GnuTLSStartup.swift`; 0.8 MB less memory for every run).
let gnutlsHook: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--export-dynamic-symbol=_gnutls_global_init_skip"], .when(platforms: [.linux])),
]

let package = Package(
    name: "dray",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dray", targets: ["CLI"]),
        .library(name: "DrayKit", targets: ["Engine", "Transports", "Signing"]),
        // Real registries on loopback, latency and fault-injecting proxies and synthetic images, for tests and the
        // benchmark harness.
        .library(name: "DrayTestSupport", targets: ["TestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // libcurl (Debian's libcurl4-openssl-dev): its headers and a loader, which opens the library on first
        // use instead of linking it (`Sources/CCurl/include/shim.h`: 4 MB less memory in runs without HTTP).
        .target(name: "CCurl"),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]),
        .target(
            name: "Engine",
            dependencies: [
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: releaseLayout),
        .target(
            name: "Transports",
            dependencies: [
                "Engine", "CCurl", "COpenSSL", "CZstd", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: releaseLayout),
        .target(
            name: "Signing",
            dependencies: ["Engine", "COpenSSL", "CSodium", .product(name: "Logging", package: "swift-log")],
            swiftSettings: releaseLayout),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "Engine", "Transports", "Signing", "CCurl", "COpenSSL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["dray.order"],
            swiftSettings: releaseLayout,
            linkerSettings: releaseLinking + gnutlsHook),
        // Test support: real registries started on loopback, a tiny HTTP server (token endpoint, redirects),
        // a synthetic image generator. Shared by the tests and the demo's seeding tool.
        .target(
            name: "TestSupport",
            dependencies: ["Engine", "Transports", "COpenSSL"]),
        .executableTarget(
            name: "dray-testkit",
            dependencies: [
                "TestSupport", "Engine", "Transports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Yams only for tests: the differential test of Engine's YAML reader, and CLITests' manifest checks.
        .testTarget(name: "EngineTests", dependencies: ["Engine", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "TransportsTests", dependencies: ["Transports", "Engine", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "TestSupport", "Engine", "Transports",
                                                     .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "SigningTests", dependencies: ["Signing", "Engine", "TestSupport", "Transports"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
