import AsyncHTTPClient

extension HTTPClient {
    /// The client for registry look-ups and downloads. Unlike `HTTPClient.shared`, a connection
    /// that cannot be made fails at once instead of being retried until the request's deadline,
    /// so an unreachable network is reported in seconds; downloads retry (and resume) on their own.
    static let downloads: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(20)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
