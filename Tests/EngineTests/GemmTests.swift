import Foundation
import GGUF
@testable import Models
import Testing
import TestSupport

/// The prefill products against the one-token path (quantized dot kernels), on real weight
/// matrices of every type the two models use: the default batch path (`IntegerGemm` on x86-64
/// where the type has an unsigned form) and the portable f32 panels (`Gemm`) must both give
/// the same products up to float rounding.
@Suite(.serialized, .computeBound) struct GemmTests {
    func compare(_ name: TestModels.Name, tensors: [String]) throws {
        let file = try GGUFFile(path: TestModels.path(for: name))
        let loader = TensorLoader(file: file)
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        for tensorName in tensors {
            let info = try #require(file.tensor(named: tensorName))
            let w = try loader.matrix(tensorName, cols: info.rowLength, rows: info.rowCount)
            let n = 37, rows = min(w.rows, 203)  // a partial last panel, and a token tile plus one
            var rng = SystemRandomNumberGenerator()
            let x = (0..<(n * w.cols)).map { _ in Float.random(in: -2...2, using: &rng) }
            var batch = [Float](repeating: .nan, count: n * rows)
            var panels = [Float](repeating: .nan, count: n * rows)
            var single = [Float](repeating: .nan, count: n * rows)
            let buffers = ActivationBuffers()
            x.withUnsafeBufferPointer { xp in
                var all = MatmulInput(xp.baseAddress!, n: n, cols: w.cols, buffers: buffers, pool: pool)
                #expect(n >= Gemm.minTokens)
                batch.withUnsafeMutableBufferPointer {
                    w.multiply(&all, into: $0.baseAddress!, yStride: rows, rowRange: 0..<rows, pool: pool)
                }
                let expanded = UnsafePointer(all.expandedActivations(w.type.activationFormat!))
                panels.withUnsafeMutableBufferPointer {
                    w.multiplyBatch(expanded, n: n, into: $0.baseAddress!, yStride: rows, rowRange: 0..<rows, pool: pool,
                                    scratch: buffers.panelScratch(threads: pool.threadCount, cols: w.cols))
                }
                for t in 0..<n {
                    var one = MatmulInput(xp.baseAddress! + t * w.cols, n: 1, cols: w.cols, buffers: buffers, pool: pool)
                    single.withUnsafeMutableBufferPointer {
                        w.multiply(&one, into: $0.baseAddress! + t * rows, yStride: rows, rowRange: 0..<rows, pool: pool)
                    }
                }
            }
            let scale = single.map(abs).max()!
            for (path, values) in [("default", batch), ("f32 panels", panels)] {
                var worst: Float = 0
                for i in 0..<(n * rows) { worst = max(worst, abs(values[i] - single[i])) }
                print("[gemm] \(tensorName) (\(w.type)) \(path): worst difference / scale \(worst / scale)")
                #expect(worst <= 1e-4 * scale, "\(tensorName) (\(w.type)) \(path): worst difference \(worst), scale \(scale)")
            }
        }
    }

    @Test func gemmaTypes() throws {
        try compare(.gemma3, tensors: ["blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight",
                                       "blk.0.ffn_up.weight", "blk.0.attn_output.weight", "token_embd.weight"])
    }

    @Test func smollmTypes() throws {
        try compare(.smollm2, tensors: ["blk.0.attn_q.weight", "blk.0.ffn_down.weight", "token_embd.weight"])
    }
}
