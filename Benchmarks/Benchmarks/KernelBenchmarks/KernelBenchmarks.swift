import Benchmark
import TensorFormats

/// Throughput of the quantized matrix products: one activation row (decode, matrix x vector)
/// and 64 rows (a prefill tile) against a 1024 x 2048 weight matrix of each format the two
/// real models use, plus the other K-quants; the portable kernels and, on x86-64, the byte
/// kernels the engine uses there (`ByteDot`, `IntegerGemm`), single-threaded. Weights are random bytes with finite f16 scales,
/// so the benchmark needs no model file; kernels do the same work whatever the values.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           maxDuration: .seconds(2), maxIterations: 1000)
    let rows = 1024, cols = 2048
    for type in [GGMLType.q4_K, .q5_0, .q6_K, .q8_0, .q4_1, .q2_K, .q3_K, .q5_K, .q4_0, .q5_1] {
        let weights = RandomWeights(type: type, rows: rows, cols: cols)
        for batch in [1, 64] {
            let input = try! QuantizedActivations(format: type.activationFormat!, count: cols, capacity: batch)
            let x = (0..<cols).map { Float(($0 * 7919) % 255) / 127 - 1 }
            x.withUnsafeBufferPointer { for r in 0..<batch { input.quantize(row: r, from: $0.baseAddress!) } }
            let output = UnsafeMutablePointer<Float>.allocate(capacity: rows * batch)
            Benchmark("\(type) \(rows)x\(cols) x \(batch) rows",
                      configuration: .init(scalingFactor: .one)) { benchmark in
                for _ in benchmark.scaledIterations {
                    try! matmul(weights: weights.base, type: type, rows: 0..<rows, input: input,
                                batch: 0..<batch, output: output, outputStride: rows)
                    blackHole(output[0])
                }
            }
            #if arch(x86_64)
            // The x86-64 byte kernels: ByteDot for one token, IntegerGemm for a batch.
            let bytes = ByteActivations(count: cols, capacity: batch)
            for r in 0..<batch { bytes.fill(row: r, from: input, row: r) }
            let rowBytes = type.byteCount(elements: cols)!
            if batch == 1 && ByteDot.supports(type) {
                Benchmark("\(type) \(rows)x\(cols) x 1 rows, ByteDot", configuration: .init(scalingFactor: .one)) { benchmark in
                    for _ in benchmark.scaledIterations {
                        ByteDot.rows(type, base: weights.base, rowBytes: rowBytes, rows: 0..<rows, cols: cols, x: bytes.qs,
                                     blocks: bytes.blocks(row: 0, blockSize: 32), blocks16: bytes.blocks(row: 0, blockSize: 16),
                                     y: output, yStride: 1)
                        blackHole(output[0])
                    }
                }
            }
            if batch > 1 && type.unsignedLayout != nil {
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: IntegerGemm.scratchFloats(cols: cols))
                Benchmark("\(type) \(rows)x\(cols) x \(batch) rows, IntegerGemm",
                          configuration: .init(scalingFactor: .one)) { benchmark in
                    for _ in benchmark.scaledIterations {
                        for r0 in stride(from: 0, to: rows, by: IntegerGemm.panelRows) {
                            IntegerGemm.panel(type, weights: weights.base, rowBytes: rowBytes, cols: cols, rows: r0,
                                              count: IntegerGemm.panelRows, a: bytes, n: batch, y: output, yStride: rows,
                                              scratch: scratch)
                        }
                        blackHole(output[0])
                    }
                }
            }
            #endif
        }
    }
}

/// A weight matrix of random blocks whose f16 fields (scales, minimums) are small and finite.
final class RandomWeights: @unchecked Sendable {
    let base: UnsafeRawPointer

    init(type: GGMLType, rows: Int, cols: Int) {
        let bytes = type.byteCount(elements: rows * cols)!
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<bytes {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Bytes with the top bits clear keep every f16 field finite (exponent < 31).
            p.storeBytes(of: UInt8(truncatingIfNeeded: state >> 33) & 0x3F, toByteOffset: i, as: UInt8.self)
        }
        base = UnsafeRawPointer(p)
    }
}
