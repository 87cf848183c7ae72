// swift-tools-version: 6.1
import PackageDescription

/// Numeric targets are compiled optimized even in debug builds: an unoptimized forward pass is
/// 50-100x slower, which would make the correctness tests on real models take hours.
/// Whole-module optimization lets helpers in one file inline into kernels in another (without
/// it, per-file batch mode leaves every SIMD helper an out-of-line call); the x86-64 target
/// features are the AVX2/FMA/F16C baseline the project runs on.
#if arch(x86_64)
let cpuFlags = ["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"]
#else
let cpuFlags: [String] = []
#endif
let optimizedFlags = ["-O", "-wmo", "-num-threads", "2", "-enforce-exclusivity=unchecked"]
let optimized: [SwiftSetting] = [.unsafeFlags(optimizedFlags + cpuFlags)]
/// The AVX-512 VNNI kernels: compiled for CPUs beyond the baseline, called only after a run-time
/// check (`CPUFeatures`) finds the instructions, so the project never requires them.
#if arch(x86_64)
let vnniFlags = cpuFlags + ["-Xcc", "-mavx512f", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512vnni"]
#else
let vnniFlags: [String] = []
#endif

let package = Package(
    name: "rdic",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rdic", targets: ["RDICCommand"]),
        .library(name: "RDIC", targets: ["Engine", "Agents", "Providers", "LocalProvider", "ModelStore", "APIWire", "Server",
                                        "IFEval", "Datasets", "Scoring", "Statistics", "Reports", "Experiments"]),
        // The quantized kernels alone, for the benchmark package under Benchmarks/.
        .library(name: "RDICKernels", targets: ["TensorFormats"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/JohnSundell/Plot", from: "0.14.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // The one way files are written: whole or not at all, even across `kill -9`.
        .target(name: "AtomicWrites"),
        // Software prefetch for the kernels that stream weights (Swift cannot emit it).
        .target(name: "CPrefetch"),
        // Byte-dot kernels for CPUs with AVX-512 VNNI, chosen at run time by TensorFormats.
        .target(name: "ByteDotVNNI", dependencies: ["CPrefetch"], swiftSettings: [.unsafeFlags(optimizedFlags + vnniFlags)]),
        // Block layouts of ggml tensor types: dequantize, quantize, dot products.
        .target(name: "TensorFormats", dependencies: ["ByteDotVNNI", "CPrefetch"], swiftSettings: optimized),
        // GGUF container: metadata, tensor directory, memory-mapped data; reading and writing.
        .target(name: "GGUF", dependencies: ["TensorFormats", "AtomicWrites"], swiftSettings: optimized),
        // The OpenAI and Anthropic wire types (requests, responses, SSE events, errors) and the
        // one `ChatMessage`, shared by Providers (client side) and Server; Foundation only.
        .target(name: "APIWire"),
        // SentencePiece and GPT-2 BPE tokenizers and chat templates, built from GGUF metadata.
        .target(name: "Tokenizers", dependencies: ["GGUF", "APIWire"], swiftSettings: optimized),
        // Per-sequence KV storage in fixed-size blocks.
        .target(name: "KVCache", dependencies: ["TensorFormats", "AtomicWrites"], swiftSettings: optimized),
        // Forward passes, one file per architecture; hyper-parameters from GGUF metadata.
        // The tiled attention's inner loops over 512-bit registers (called only on CPUs with AVX-512).
        .target(name: "AttentionAVX512", swiftSettings: [.unsafeFlags(optimizedFlags + vnniFlags)]),
        .target(name: "Models", dependencies: ["GGUF", "TensorFormats", "KVCache", "AttentionAVX512", "CPrefetch"], swiftSettings: optimized),
        // Generation: prefill, decode, sampling, streaming.
        .target(name: "Engine", dependencies: ["Models", "Tokenizers", "KVCache", "GGUF"], swiftSettings: optimized),
        // Many agents on one model: per-agent caches in RAM and on disk, batched scheduling.
        .target(name: "Agents", dependencies: ["Engine", "Models", "KVCache", "AtomicWrites"], swiftSettings: optimized),
        // Installing, finding and describing model files.
        .target(name: "ModelStore", dependencies: [
            "GGUF", "AtomicWrites", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: optimized),
        // One chat API over hosted and local backends.
        .target(name: "Providers", dependencies: [
            "APIWire", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        // The local engine behind the providers' `ChatProvider` (kept out of Providers so the
        // hosted-API layer does not depend on the engine).
        .target(name: "LocalProvider", dependencies: ["Providers", "Engine"]),
        // `rdic serve`: OpenAI- and Anthropic-compatible HTTP over the agents runtime.
        .target(name: "Server", dependencies: [
            "Agents", "APIWire", "Engine", "KVCache", "Models", "ModelStore", "Tokenizers",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // IFEval's verifiable instructions: registry, checkers, the benchmark's evaluation.
        .target(name: "IFEval", dependencies: ["AtomicWrites"]),
        // Conflict datasets: schema v2, validation, split/stats/sample, v1 migration, generation.
        .target(name: "Datasets", dependencies: ["Providers", "IFEval", "Engine", "AtomicWrites"], resources: [.copy("Resources")]),
        // Scores for model answers: IFEval runs through providers, rule checks, an LLM judge.
        .target(name: "Scoring", dependencies: ["IFEval", "Providers", "ModelStore", "AtomicWrites"]),
        // Paired statistics for reports (bootstrap intervals, paired tests, effect sizes, ARI/NMI).
        .target(name: "Statistics"),
        // Experiment reports: markdown, self-contained HTML with SVG plots, CSV.
        .target(name: "Reports", dependencies: ["Statistics", "AtomicWrites", .product(name: "Plot", package: "Plot")]),
        // The RDIC experiment: conditions over agents' caches, resumable runs in SQLite.
        .target(name: "Experiments", dependencies: [
            "Agents", "Engine", "KVCache", "Datasets", "IFEval", "Scoring", "Providers", "LocalProvider", "Reports", "Statistics",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "TOMLKit", package: "TOMLKit"),
        ], swiftSettings: optimized),
        .executableTarget(name: "RDICCommand", dependencies: [
            "Engine", "Agents", "Models", "ModelStore", "Providers", "LocalProvider", "Server", "Tokenizers", "GGUF",
            "IFEval", "Scoring", "Datasets", "Experiments", "Reports", "Statistics", "AtomicWrites",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "TestSupport", dependencies: ["ModelStore", "GGUF"], path: "Tests/TestSupport",
                resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorFormatsTests", dependencies: ["TensorFormats", "ByteDotVNNI", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: optimized),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore", "TestSupport"]),
        .testTarget(name: "AtomicWritesTests", dependencies: ["AtomicWrites"]),
        .testTarget(name: "KVCacheTests", dependencies: ["KVCache", "TestSupport"], swiftSettings: optimized),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], swiftSettings: optimized),
        .testTarget(name: "ProvidersTests", dependencies: [
            "Providers", "LocalProvider", "Engine", "Tokenizers", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "Engine", "Models", "KVCache", "Tokenizers", "TestSupport",
                                                    "AttentionAVX512", "TensorFormats"], swiftSettings: optimized),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "IFEval", "Providers", "TestSupport"]),
        .testTarget(name: "APIWireTests", dependencies: ["APIWire"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Agents", "Engine", "APIWire", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "IFEvalTests", dependencies: ["IFEval"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ScoringTests", dependencies: [
            "Scoring", "IFEval", "Providers", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Statistics"]),
        .testTarget(name: "ExperimentsTests", dependencies: [
            "Experiments", "Reports", "Agents", "Engine", "KVCache", "Datasets", "Scoring", "Providers", "LocalProvider", "TestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: optimized),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "GGUF"]),
    ]
)
