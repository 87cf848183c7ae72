import Foundation

/// The regularized incomplete beta function I_x(a, b), by the continued fraction of Numerical
/// Recipes (section 6.4) evaluated with the modified Lentz method; Student's t tail comes from it.
public func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
    precondition(a > 0 && b > 0, "incomplete beta needs a, b > 0")
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
    let front = exp(logFront)
    // The fraction converges fast only on one side of the mean; use the symmetry elsewhere.
    if x < (a + 1) / (a + b + 2) {
        return front * betaContinuedFraction(a: a, b: b, x: x) / a
    }
    return 1 - front * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
}

private func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
    let tiny = 1e-300, epsilon = 1e-16
    func guarded(_ v: Double) -> Double { abs(v) < tiny ? tiny : v }
    let qab = a + b, qap = a + 1, qam = a - 1
    var c = 1.0
    var d = 1 / guarded(1 - qab * x / qap)
    var h = d
    for m in 1...10_000 {
        let m = Double(m), m2 = 2 * m
        var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 / guarded(1 + aa * d)
        c = guarded(1 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 / guarded(1 + aa * d)
        c = guarded(1 + aa / c)
        let step = d * c
        h *= step
        if abs(step - 1) < epsilon { break }
    }
    return h
}

/// Two-sided p-value of Student's t with `degreesOfFreedom`: P(|T| >= |t|).
public func studentTTwoSidedP(t: Double, degreesOfFreedom df: Double) -> Double {
    if t.isInfinite { return 0 }
    return regularizedIncompleteBeta(a: df / 2, b: 0.5, x: df / (df + t * t))
}

/// Two-sided p-value of a standard normal z: P(|Z| >= |z|).
public func normalTwoSidedP(z: Double) -> Double {
    erfc(abs(z) / 2.0.squareRoot())
}
