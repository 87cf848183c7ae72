import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server on 127.0.0.1 for download tests: real sockets, real HTTP framing,
/// one connection at a time, each answered then closed (`Connection: close`).
public final class LocalHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public let method: String
        public let path: String
        public let headers: [String: String]
        /// The request body (read up to Content-Length).
        public let body: [UInt8]

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Close the socket after sending this many body bytes (a dropped connection).
        public var dropAfter: Int?

        public init(status: Int, headers: [(String, String)] = [], body: [UInt8], dropAfter: Int? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.dropAfter = dropAfter
        }
    }

    public let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var _requests: [Request] = []
    public var requests: [Request] { lock.withLock { _requests } }

    public init(handler: @escaping @Sendable (Request) -> Response) throws {
        self.handler = handler
        signal(SIGPIPE, SIG_IGN) // a client that hangs up must not kill the test process
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listener = fd
        port = UInt16(bigEndian: addr.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !buffer.contains(subsequence: [13, 10, 13, 10]) {
            let n = read(client, &chunk, chunk.count)
            guard n > 0 else { return }
            buffer += chunk[..<n]
        }
        let head = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let headEnd = (buffer.firstIndex(ofSubsequence: [13, 10, 13, 10]) ?? buffer.count) + 4
        let length = Int(headers["content-length"] ?? "") ?? 0
        while buffer.count < headEnd + length {
            let n = read(client, &chunk, chunk.count)
            guard n > 0 else { break }
            buffer += chunk[..<n]
        }
        let body = Array(buffer[min(headEnd, buffer.count)..<min(headEnd + length, buffer.count)])
        let request = Request(method: String(requestLine.first ?? ""), path: String(requestLine.dropFirst().first ?? ""),
                              headers: headers, body: body)
        lock.withLock { _requests.append(request) }
        let response = handler(request)
        var out = "HTTP/1.1 \(response.status) \(response.status < 400 ? "OK" : "Error")\r\n"
        var headerLines = response.headers
        if !headerLines.contains(where: { $0.0.lowercased() == "content-length" }) {
            headerLines.append(("Content-Length", "\(response.body.count)"))
        }
        headerLines.append(("Connection", "close"))
        for (k, v) in headerLines { out += "\(k): \(v)\r\n" }
        out += "\r\n"
        var bytes = Array(out.utf8)
        bytes += response.body.prefix(response.dropAfter ?? response.body.count)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            sent += n
        }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool { firstIndex(ofSubsequence: subsequence) != nil }

    func firstIndex(ofSubsequence subsequence: [UInt8]) -> Int? {
        guard count >= subsequence.count else { return nil }
        for i in 0...(count - subsequence.count) where Array(self[i..<i + subsequence.count]) == subsequence { return i }
        return nil
    }
}
