import Foundation
import KVCache
import Testing

/// The `q4` row formats on their own: what their levels cost in error, and the dot product's
/// x86-64 and portable paths against the dequantized rows.
@Suite struct Q4RowsTests {
    /// Seeded standard-normal samples (Box-Muller over a 64-bit LCG).
    static func gaussian(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        return (0..<n).map { _ in Float((-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())) }
    }

    static func roundTripError(_ rows: Q4Rows, _ x: [Float]) -> Float {
        var bytes = [UInt8](repeating: 0, count: rows.rowBytes(x.count))
        var back = [Float](repeating: 0, count: x.count)
        bytes.withUnsafeMutableBytes { rows.quantize(x, count: x.count, into: $0.baseAddress!) }
        bytes.withUnsafeBytes { rows.dequantize($0.baseAddress!, count: x.count, into: &back) }
        return zip(x, back).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(x.count)
    }

    /// On Gaussian rows (what centering and rotation leave) Lloyd-Max levels beat uniform
    /// ones by well over a tenth of the squared error, and both sit near their theoretical
    /// figures (0.0095 and 0.0115 of the variance).
    @Test func gaussianLevelsLoseLessThanUniform() {
        let x = Self.gaussian(64 * 256, seed: 7)
        for group in [32, 64, 128] {
            let uniform = Self.roundTripError(Q4Rows(groupSize: group, levels: .uniform), x)
            let gaussian = Self.roundTripError(Q4Rows(groupSize: group, levels: .gaussian), x)
            #expect(gaussian < 0.88 * uniform, "group \(group): gaussian \(gaussian), uniform \(uniform)")
            #expect(gaussian < 0.0125 && uniform < 0.016, "group \(group): gaussian \(gaussian), uniform \(uniform)")
        }
    }

    /// The dot product equals the dequantized row against the dequantized 8-bit query, on the
    /// x86-64 kernel and the portable one alike.
    @Test func dotMatchesDequantizedRows() {
        for rows in [Q4Rows(groupSize: 64, levels: .uniform), Q4Rows(groupSize: 32, levels: .gaussian),
                     Q4Rows(groupSize: 128, levels: .gaussian)] {
            let n = 256
            let x = Self.gaussian(n, seed: 3).map { $0 * 2.5 }, q = Self.gaussian(n, seed: 11)
            var bytes = [UInt8](repeating: 0, count: rows.rowBytes(n))
            var back = [Float](repeating: 0, count: n)
            bytes.withUnsafeMutableBytes { rows.quantize(x, count: n, into: $0.baseAddress!) }
            bytes.withUnsafeBytes { rows.dequantize($0.baseAddress!, count: n, into: &back) }
            var qx = [Int8](repeating: 0, count: n), scales = [Float](repeating: 0, count: n / 32)
            Q4Rows.quantizeQuery(q, count: n, into: &qx, scales: &scales)
            var expected: Float = 0
            for j in 0..<n { expected += back[j] * Float(qx[j]) * scales[j / 32] }
            let fast = bytes.withUnsafeBytes { rows.dot($0.baseAddress!, count: n, x: qx, scales: scales) }
            let portable = bytes.withUnsafeBytes { rows.portableDot($0.baseAddress!, count: n, x: qx, scales: scales) }
            #expect(abs(fast - expected) <= 1e-3 * max(1, abs(expected)), "\(rows): \(fast) vs \(expected)")
            #expect(abs(portable - expected) <= 1e-3 * max(1, abs(expected)), "\(rows): \(portable) vs \(expected)")
            // And close to the exact product (4-bit rows, 8-bit query).
            let exact = zip(x, q).map { $0 * $1 }.reduce(0, +)
            #expect(abs(fast - exact) < 0.1 * (x.map { $0 * $0 }.reduce(0, +) * q.map { $0 * $0 }.reduce(0, +)).squareRoot())
        }
    }

    /// The fit `Q4Rows.quantize` makes, spelled out one candidate scale at a time (as it was
    /// written before its candidates shared vector lanes): the bytes must be the same.
    static func referenceQuantize(_ rows: Q4Rows, _ xs: [Float]) -> [UInt8] {
        let n = rows.groupSize, levels = (0..<16).map { Float(rows.levels.values[$0]) }
        let largest = max(-levels[0], levels[15])
        func nearest(_ v: Int) -> Int {
            var best = 0
            for c in 1..<16 where abs(levels[c] - Float(v)) < abs(levels[best] - Float(v)) { best = c }
            return best
        }
        var out: [UInt8] = [], codes = [Int](repeating: 0, count: n), best = codes
        for g in 0..<(xs.count / n) {
            let x = Array(xs[(g * n)..<(g * n + n)])
            let maxValue = x.map { abs($0) }.max()!
            var bestScale: Float = 0, bestFit: Float = -1
            if maxValue > 0 && maxValue.isFinite {
                for i in 0..<24 {
                    let iscale = largest * (0.72 + 0.02 * Float(i)) / maxValue
                    var lx: Float = 0, l2: Float = 0
                    for j in 0..<n {
                        codes[j] = nearest(Int(min(127, max(-128, (x[j] * iscale).rounded()))))
                        let l = levels[codes[j]]
                        lx += l * x[j]
                        l2 += l * l
                    }
                    guard l2 > 0, lx * lx / l2 > bestFit else { continue }
                    bestFit = lx * lx / l2
                    bestScale = lx / l2
                    best = codes
                }
            }
            withUnsafeBytes(of: Float16(bestScale).bitPattern.littleEndian) { out += $0 }
            for k in 0..<(n / 32) {
                for j in 0..<16 { out.append(UInt8(best[32 * k + j] | best[32 * k + j + 16] << 4)) }
            }
        }
        return out
    }

    /// Rows of every shape the cache writes (groups of 32-128, both level sets), with all-zero
    /// groups, tiny and huge magnitudes and values on rounding ties, give the reference's bytes,
    /// on this CPU's path and the portable one.
    @Test(arguments: [32, 64, 128])
    func quantizeGivesTheReferenceBytes(groupSize: Int) {
        for levels in [Q4Levels.uniform, .gaussian] {
            let rows = Q4Rows(groupSize: groupSize, levels: levels)
            for seed in UInt64(1)...7 {
                var x = Self.gaussian(8 * groupSize, seed: seed)
                switch seed {
                case 2: for j in 0..<groupSize { x[j] = 0 }                        // a zero group, then others
                case 3: x = x.map { $0 * 1e-20 }
                case 4: x = x.map { $0 * 3e4 }
                case 5: x = x.map { ($0 * 8).rounded() / 16 }                      // many exact halves
                case 6: for j in stride(from: 0, to: x.count, by: 3) { x[j] = 0 }
                case 7:
                    // Largest magnitude on the outermost level, the rest halfway between two
                    // integers: the candidate scale 1 (0.72 + 0.02 · 14) rounds ties.
                    let top = Float(max(-Int(levels.values[0]), Int(levels.values[15])))
                    x = x.indices.map { $0 % groupSize == 0 ? top : (Float(Int(x[$0] * top / 3)) + 0.5).clamped(-top + 0.5, top - 0.5) }
                default: break
                }
                var bytes = [UInt8](repeating: 0, count: rows.rowBytes(x.count)), portable = bytes
                bytes.withUnsafeMutableBytes { rows.quantize(x, count: x.count, into: $0.baseAddress!) }
                portable.withUnsafeMutableBytes { rows.portableQuantize(x, count: x.count, into: $0.baseAddress!) }
                let reference = Self.referenceQuantize(rows, x)
                #expect(bytes == reference, "group \(groupSize), seed \(seed)")
                #expect(portable == reference, "portable, group \(groupSize), seed \(seed)")
            }
        }
    }
}

private extension Float {
    func clamped(_ low: Float, _ high: Float) -> Float { Swift.min(high, Swift.max(low, self)) }
}
