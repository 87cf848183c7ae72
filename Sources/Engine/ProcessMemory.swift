import Foundation

/// This process's memory as the kernel counts it, for benchmarks and budget checks.
public enum ProcessMemory {
    /// Resident set size now (`VmRSS`), 0 where /proc is missing.
    public static var resident: Int { status("VmRSS:") ?? 0 }

    /// The largest resident set so far (`VmHWM` on Linux, `ru_maxrss` elsewhere).
    public static var peakResident: Int {
        if let bytes = status("VmHWM:") { return bytes }
        var usage = rusage()
        #if os(Linux)
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    /// Bytes of the `/proc/self/status` line starting with `key` (given there in kB).
    private static func status(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
