// swift-tools-version: 6.1
import PackageDescription

/// The allocator TapeGrad's arena (Sources/TapeGrad/Memory/Arena.swift) draws from: jemalloc,
/// linked as the process allocator; or, with TAPEGRAD_SYSTEM_ALLOCATOR=1 in the environment of
/// `swift build`/`swift test`, a module of the same name and functions on the C library's
/// allocator (Sources/CJemallocFallback), without jemalloc's statistics. The second is for the
/// sanitizers (scripts/sanitize.sh), whose allocator must be the process's only one.
let systemAllocator = ["1", "true", "yes"].contains(Context.environment["TAPEGRAD_SYSTEM_ALLOCATOR"]?.lowercased() ?? "")
let allocatorTarget: Target = systemAllocator
    ? .target(name: "CJemalloc", path: "Sources/CJemallocFallback")
    : .systemLibrary(
        name: "CJemalloc", path: "Sources/CJemalloc", pkgConfig: "jemalloc",
        providers: [.apt(["libjemalloc-dev"])])

let package = Package(
    name: "TapeGrad",
    products: [
        .library(name: "TapeGrad", targets: ["TapeGrad"]),
        .executable(name: "autograd-tour", targets: ["AutogradTour"]),
        .executable(name: "two-layer-net", targets: ["TwoLayerNet"]),
        .executable(name: "mnist-mlp", targets: ["MnistMLP"]),
        .executable(name: "tapegrad-conformance", targets: ["TapegradConformanceTool"]),
        .executable(name: "resnet18-step", targets: ["ResNet18Step"]),
        .executable(name: "gpt-train", targets: ["GPTTrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        allocatorTarget,
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CTapeGradRuntime", path: "Sources/CTapeGradRuntime"),
        .target(
            name: "TapeGrad",
            dependencies: [
                "CJemalloc", "COpenBLAS", "CTapeGradRuntime",
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            path: "Sources/TapeGrad"),
        .executableTarget(
            name: "AutogradTour",
            dependencies: ["TapeGrad", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/AutogradTour"),
        .executableTarget(
            name: "TwoLayerNet",
            dependencies: ["TapeGrad", "ExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/TwoLayerNet"),
        // What the examples share: the IDX reader, datasets, the MLP and its training step,
        // the terminal progress line, SVG curves. Internal to the package (no product).
        .target(name: "ExampleSupport", dependencies: ["TapeGrad"], path: "Sources/Examples/ExampleSupport"),
        .executableTarget(
            name: "MnistMLP",
            dependencies: ["TapeGrad", "ExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/MnistMLP"),
        .executableTarget(
            name: "ResNet18Step",
            dependencies: ["TapeGrad", "ExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/ResNet18Step"),
        .executableTarget(
            name: "GPTTrain",
            dependencies: ["TapeGrad", "ExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/GPTTrain"),
        .target(name: "TapeGradConformance", dependencies: ["TapeGrad"], path: "Sources/TapeGradConformance"),
        .executableTarget(
            name: "TapegradConformanceTool",
            dependencies: ["TapeGradConformance", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/TapegradConformance"),
        .testTarget(
            name: "TapeGradTests",
            dependencies: ["TapeGrad", "TapeGradConformance"],
            path: "Tests/TapeGradTests",
            resources: [.copy("Resources/ops-reference.json"), .copy("Resources/differential-reference.json"), .copy("Resources/dtype-reference.json"),
                        .copy("Resources/gpt2-fixture")]),
        .testTarget(name: "ExampleSupportTests", dependencies: ["ExampleSupport", "TapeGrad"], path: "Tests/ExampleSupportTests"),
    ]
)
