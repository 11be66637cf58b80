// swift-tools-version:6.1
import Foundation
import PackageDescription

// Micro-benchmarks for dray (ordo-one/benchmark). Run from this folder:
//   swift package --disable-sandbox benchmark
// Not part of `swift test`.

// The parent package's identity is its folder name, which differs between checkouts.
let parent = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "DrayBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
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
        )
    ],
    swiftLanguageModes: [.v6]
)
