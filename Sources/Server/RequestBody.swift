import APIWire
import Foundation
import Hummingbird
import NIOCore

/// Reads and decodes a JSON body, turning every failure into the 4xx the client should see.
enum RequestBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws(APIError) -> T {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        } catch {
            throw APIError.badRequest("could not read the request body: \(error)")
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("empty request body: expected JSON") }
        do {
            return try WireCoding.decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest(WireCoding.describe(error))
        }
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "request body larger than the limit of \(limit) bytes")
    }
}
