import Foundation
import GGUF
@testable import Models
import TensorFormats
import Testing
import TestSupport

/// The x86-64 integer kernels and the portable f32 panels against the portable quantized dot
/// kernels (TensorFormats' `matmul`, which follow ggml's per-block integer sums), on real
/// weight matrices of every type the two models use and a Q4_0 matrix: one decoded token
/// (`ByteDot` where it has a kernel), a prefill batch (`IntegerGemm` where the type has an
/// unsigned form) and the f32 panels (`Gemm`) must all give the same products up to float
/// rounding.
@Suite(.serialized, .computeBound) struct GemmTests {
    func compare(_ name: TestModels.Name, tensors: [String]) throws {
        try compare(try GGUFFile(path: TestModels.path(for: name)), tensors: tensors)
    }

    func compare(_ file: GGUFFile, tensors: [String]) throws {
        let loader = TensorLoader(file: file)
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        for tensorName in tensors {
            let info = try #require(file.tensor(named: tensorName))
            let w = try loader.matrix(tensorName, cols: info.rowLength, rows: info.rowCount)
            let n = 37, rows = min(w.rows, 203)  // a partial last panel, and a token tile plus one
            var rng = SystemRandomNumberGenerator()
            let x = (0..<(n * w.cols)).map { _ in Float.random(in: -2...2, using: &rng) }
            var reference = [Float](repeating: .nan, count: n * rows)
            var batch = reference, panels = reference, single = reference, tokens = reference
            let buffers = ActivationBuffers()
            try x.withUnsafeBufferPointer { xp in
                var all = MatmulInput(xp.baseAddress!, n: n, cols: w.cols, buffers: buffers, pool: pool)
                #expect(n >= Gemm.minTokens)
                let activations = all.activations(w.type.activationFormat!)
                try reference.withUnsafeMutableBufferPointer {
                    try matmul(weights: w.base, type: w.type, rows: 0..<rows, input: activations, batch: 0..<n,
                               output: $0.baseAddress!, outputStride: rows)
                }
                batch.withUnsafeMutableBufferPointer {
                    w.multiply(&all, into: $0.baseAddress!, yStride: rows, rowRange: 0..<rows, pool: pool)
                }
                let expanded = UnsafePointer(all.expandedActivations(w.type.activationFormat!))
                panels.withUnsafeMutableBufferPointer {
                    w.multiplyBatch(expanded, activations: activations, n: n, into: $0.baseAddress!, yStride: rows,
                                    rowRange: 0..<rows, pool: pool,
                                    scratch: buffers.panelScratch(threads: pool.threadCount, cols: w.cols))
                }
                var byToken = MatmulInput(xp.baseAddress!, n: n, cols: w.cols, buffers: buffers, pool: pool, tokenByToken: true)
                tokens.withUnsafeMutableBufferPointer {
                    w.multiply(&byToken, into: $0.baseAddress!, yStride: rows, rowRange: 0..<rows, pool: pool)
                }
                for t in 0..<n {
                    var one = MatmulInput(xp.baseAddress! + t * w.cols, n: 1, cols: w.cols, buffers: buffers, pool: pool)
                    single.withUnsafeMutableBufferPointer {
                        w.multiply(&one, into: $0.baseAddress! + t * rows, yStride: rows, rowRange: 0..<rows, pool: pool)
                    }
                }
            }
            let scale = reference.map(abs).max()!
            #if arch(x86_64)
            // The 32-element block types' kernels do not depend on the batch: token by token equals
            // one token at a time (K-quants follow llama.cpp's batch-dependent kernels, see
            // `ByteDot.rows`; the exact-perplexity tests check those end to end).
            if [GGMLType.q4_0, .q4_1, .q5_0, .q8_0].contains(w.type) {
                #expect(tokens == single, "\(tensorName) (\(w.type)): token by token differs from one token at a time")
            }
            #endif
            for (path, values) in [("one token", single), ("token by token", tokens), ("batch", batch), ("f32 panels", panels)] {
                var worst: Float = 0
                for i in 0..<(n * rows) { worst = max(worst, abs(values[i] - reference[i])) }
                print("[gemm] \(tensorName) (\(w.type)) \(path): worst difference / scale \(worst / scale)")
                #expect(worst <= 1e-4 * scale, "\(tensorName) (\(w.type)) \(path): worst difference \(worst), scale \(scale)")
            }
        }
    }

    /// Neither real model has Q4_0 weights: a random matrix written to a GGUF file.
    @Test func q4_0() throws {
        let rows = 100, cols = 512
        var state: UInt64 = 42
        let floats = (0..<(rows * cols)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        var data = [UInt8](repeating: 0, count: rows * cols / 32 * 18)
        try floats.withUnsafeBufferPointer { try quantize(.q4_0, from: $0.baseAddress!, count: rows * cols, into: &data) }
        var writer = GGUFWriter()
        try writer.addTensor(name: "w", type: .q4_0, shape: [cols, rows], data: data)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-gemm-q4_0-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)
        try compare(try GGUFFile(path: url.path), tensors: ["w"])
    }

    @Test func gemmaTypes() throws {
        try compare(.gemma3, tensors: ["blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight",
                                       "blk.0.ffn_up.weight", "blk.0.attn_output.weight", "token_embd.weight"])
    }

    @Test func smollmTypes() throws {
        try compare(.smollm2, tensors: ["blk.0.attn_q.weight", "blk.0.ffn_down.weight", "token_embd.weight"])
    }
}
