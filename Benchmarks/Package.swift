// swift-tools-version: 6.1
import PackageDescription

// Kernel benchmarks (ordo-one/package-benchmark), kept in their own package so that the main
// package's `swift build` / `swift test` (and CI) never build the benchmark dependencies.
//   cd Benchmarks && swift package benchmark
//   swift package benchmark baseline check main                                         (regressions)
//   swift package --allow-writing-to-package-directory benchmark baseline update main  (new baseline)

#if arch(x86_64)
let cpuFlags = ["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"]
#else
let cpuFlags: [String] = []
#endif

let package = Package(
    name: "rdic-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "rdic", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RDICKernels", package: "rdic"),
            ],
            path: "Benchmarks/KernelBenchmarks",
            swiftSettings: [.unsafeFlags(["-O", "-wmo"] + cpuFlags)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
