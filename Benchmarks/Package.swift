// swift-tools-version: 6.1
// TapeGrad's benchmarks, a package of their own so that `swift test` in the main package never
// builds ordo-one/benchmark. Run from this folder:
//   swift package benchmark                      (wall clock, mallocs, peak memory, arena allocations)
//   python3 compare.py                           (side-by-side ratios against C and PyTorch)
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the checkout is called.
let tapeGradPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "TapeGradBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The workloads, shared by the ordo-one benchmarks and the timing tool.
        .target(
            name: "BenchmarkWorkloads",
            dependencies: [.product(name: "TapeGrad", package: tapeGradPackage)],
            path: "Sources/BenchmarkWorkloads"),
        .executableTarget(
            name: "TapeGradBenchmarks",
            dependencies: [
                "BenchmarkWorkloads",
                .product(name: "TapeGrad", package: tapeGradPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TapeGradBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "tapegrad-timings",
            dependencies: [
                "BenchmarkWorkloads",
                .product(name: "TapeGrad", package: tapeGradPackage),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/TapeGradTimings"),
    ]
)
