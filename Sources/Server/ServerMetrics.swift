import Agents
import Foundation
import Prometheus

/// The server's Prometheus metrics, all prefixed `rdic_`. Labels are fixed route names and
/// status codes only: agent ids and keys never become labels.
final class ServerMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let promptTokens: Counter
    let cachedTokens: Counter
    let generatedTokens: Counter
    let timeToFirstToken: DurationHistogram
    let timePerToken: DurationHistogram
    private let queueDepth: Gauge
    private let running: Gauge
    private let ramBytes: Gauge
    private let diskBytes: Gauge
    private let evictions: Counter
    private let restores: Counter
    private let lock = NSLock()
    private var reportedEvictions = 0
    private var reportedRestores = 0

    init() {
        promptTokens = registry.makeCounter(descriptor: Self.name("prompt_tokens_total", "Prompt tokens of finished requests"))
        cachedTokens = registry.makeCounter(descriptor: Self.name("cached_tokens_total", "Prompt tokens read from an agent's cache"))
        generatedTokens = registry.makeCounter(descriptor: Self.name("generated_tokens_total", "Tokens generated"))
        let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                          .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                          .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)]
        timeToFirstToken = registry.makeDurationHistogram(
            descriptor: Self.name("time_to_first_token_seconds", "Request received to first token"), buckets: latencyBuckets)
        timePerToken = registry.makeDurationHistogram(
            descriptor: Self.name("time_per_output_token_seconds", "Time between generated tokens"), buckets: latencyBuckets)
        queueDepth = registry.makeGauge(descriptor: Self.name("queue_depth", "Requests waiting for a slot"))
        running = registry.makeGauge(descriptor: Self.name("running_requests", "Requests generating now"))
        ramBytes = registry.makeGauge(descriptor: Self.name("cache_bytes", "Agent KV cache bytes by tier"), labels: [("tier", "ram")])
        diskBytes = registry.makeGauge(descriptor: Self.name("cache_bytes", "Agent KV cache bytes by tier"), labels: [("tier", "disk")])
        evictions = registry.makeCounter(descriptor: Self.name("cache_evictions_total", "Agents moved out of RAM"))
        restores = registry.makeCounter(descriptor: Self.name("cache_restores_total", "Agents restored from disk"))
    }

    /// `rdic_NAME` with its help text (the unit is already the end of each name, as in
    /// `_seconds` or `_total`: an empty unit adds nothing to it).
    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "rdic", metricName: name, unitName: "", helpText: help)
    }

    func countRequest(endpoint: String, status: Int) {
        registry.makeCounter(descriptor: Self.name("requests_total", "HTTP requests by endpoint and status"),
                             labels: [("endpoint", endpoint), ("status", String(status))]).increment()
    }

    func countFinished(promptTokens prompt: Int, cachedTokens cached: Int, generatedTokens generated: Int) {
        promptTokens.increment(by: Int64(prompt))
        cachedTokens.increment(by: Int64(cached))
        generatedTokens.increment(by: Int64(generated))
    }

    /// The text exposition, with the runtime's gauges sampled now.
    func render(_ backend: AgentRuntimeMetrics) -> [UInt8] {
        queueDepth.set(Double(backend.queued))
        running.set(Double(backend.running))
        ramBytes.set(Double(backend.ramBytes))
        diskBytes.set(Double(backend.diskBytes))
        lock.withLock {
            evictions.increment(by: Int64(max(0, backend.evictions - reportedEvictions)))
            restores.increment(by: Int64(max(0, backend.restores - reportedRestores)))
            reportedEvictions = backend.evictions
            reportedRestores = backend.restores
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
