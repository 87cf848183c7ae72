#if arch(x86_64)
import ByteDotVNNI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which kernels multiply quantized weights with 8-bit activations. `ByteDot`'s row-major
/// kernels give the same bits either way (integer lanes are exact and the float steps are the
/// same); with the VNNI set, models also multiply Q4_0, Q4_1, Q5_0 and Q8_0 matrices through
/// interleaved copies (`InterleavedWeights`), whose exact block sums round differently from
/// the AVX2 kernels' per-lane float sums: outputs then differ in the last bits from an AVX2
/// machine's, while every token still gets the same floats alone or batched.
public enum ByteKernels: String, Sendable, CaseIterable {
    /// The AVX2 baseline every x86-64 build runs on.
    case avx2
    /// `vpdpbusd` kernels (target `ByteDotVNNI`): row-major ones for two to four tokens of
    /// Q4_0, Q4_1, Q5_0 and Q8_0, and the interleaved ones.
    case avx512VNNI = "avx512-vnni"

    /// Whether this CPU can run them.
    public var isAvailable: Bool {
        switch self {
        case .avx2: true
        case .avx512VNNI: CPUFeatures.avx512VNNI
        }
    }

    /// The environment variable that picks the kernels (`avx2` opts out of the VNNI kernels).
    /// Unset, the fastest this CPU has run: the VNNI kernels, since they prefetch the weight
    /// stream (without the prefetch they were slower end to end than AVX2 on an AMD EPYC, the
    /// hardware prefetcher alone not keeping two interleaved rows fed from DRAM).
    public static let environmentVariable = "RDIC_KERNELS"

    /// What this process uses, chosen once.
    public static let preferred: ByteKernels = choose(environment: getenv(environmentVariable).map { String(cString: $0) })

    /// `setting` if given and available, otherwise the fastest available.
    public static func choose(environment setting: String?) -> ByteKernels {
        if let setting, let k = ByteKernels(rawValue: setting.lowercased()), k.isAvailable { return k }
        return fastest
    }

    /// The VNNI kernels where the CPU has them, otherwise the AVX2 baseline.
    public static var fastest: ByteKernels { avx512VNNI.isAvailable ? .avx512VNNI : .avx2 }
}

/// Instruction-set extensions beyond the AVX2/FMA/F16C baseline the project is compiled for,
/// checked once at run time (never required).
public enum CPUFeatures {
    /// AVX-512 F, BW, VL and VNNI, as the operating system reports them enabled.
    public static let avx512VNNI: Bool = hasAll(["avx512f", "avx512bw", "avx512vl", "avx512_vnni"])

    /// Linux: the `flags` line of /proc/cpuinfo (the kernel lists only what it enabled);
    /// macOS: `sysctl hw.optional.*`.
    static func hasAll(_ features: [String]) -> Bool {
        #if os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var size = 0
        defer { free(line) }
        while getline(&line, &size, file) > 0 {
            let text = String(cString: line!)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            return features.allSatisfy(flags.contains)
        }
        return false
        #elseif os(macOS)
        return features.allSatisfy { name in
            var value: Int32 = 0
            var size = MemoryLayout<Int32>.size
            let key = "hw.optional." + String(name.filter { $0 != "_" })
            return sysctlbyname(key, &value, &size, nil, 0) == 0 && value != 0
        }
        #else
        return false
        #endif
    }
}
#endif
