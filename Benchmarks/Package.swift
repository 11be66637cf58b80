// swift-tools-version:6.1
import Foundation
import PackageDescription

// dray's benchmarks. Not part of `swift test`.
// - DrayMicro: micro-benchmarks (ordo-one/benchmark). From this folder: swift package --disable-sandbox benchmark
// - dray-e2e: the end-to-end harness (local registries, synthetic corpus, latency proxy, dray vs skopeo).
//   From the repository root: bash Benchmarks/e2e.sh [flags]

// The parent package's identity is its folder name, which differs between checkouts.
let parent = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "DrayBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "DrayMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DrayKit", package: parent),
            ],
            path: "Benchmarks/DrayMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "dray-e2e",
            dependencies: [
                .product(name: "DrayKit", package: parent),
                .product(name: "DrayTestSupport", package: parent),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Harness/E2E"
        ),
    ],
    swiftLanguageModes: [.v6]
)
