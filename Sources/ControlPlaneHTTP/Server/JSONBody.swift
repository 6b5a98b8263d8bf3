import ControlPlaneCore
import FastCGI
import Foundation

extension RequestContext {
    /// Decodes a JSON request body into `T`: 415 for another media type, 400 for bytes
    /// that are not JSON or not the expected shape (the detail names the field, never
    /// echoes its value).
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        if let contentType = request.headers["content-type"] {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard mediaType == "application/json" || mediaType?.hasSuffix("+json") == true else {
                throw Problem(415, type: .unsupportedMediaType, detail: "Send the body as application/json.")
            }
        } else if !request.body.isEmpty {
            throw Problem(415, type: .unsupportedMediaType, detail: "Send the body as application/json.")
        }
        guard !request.body.isEmpty else {
            throw Problem.badRequest("The request needs a JSON body.", type: .malformedJSON)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let error as DecodingError {
            throw Problem.badRequest(Self.describe(error), type: .malformedJSON)
        } catch {
            throw Problem.badRequest("The body is not valid JSON.", type: .malformedJSON)
        }
    }

    /// Like `decodeJSON`, but members outside `allowedKeys` are refused (422), as the
    /// OpenAPI schemas say (`additionalProperties: false`).
    public func decodeStrictJSON<T: Decodable>(_ type: T.Type, allowedKeys: Set<String>) throws -> T {
        let value = try decodeJSON(type)
        if let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] {
            let unknown = object.keys.filter { !allowedKeys.contains($0) }.sorted()
            if !unknown.isEmpty {
                throw Problem.validation(unknown.prefix(10).map { .init(name: String($0.prefix(64)), reason: "is not a known field") })
            }
        }
        return value
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            codingPath.isEmpty ? "the body" : codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "The body is not valid JSON." : "\(path(context.codingPath)) has an invalid value."
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required."
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)) has the wrong type."
        @unknown default:
            return "The body does not match the expected shape."
        }
    }
}

extension Response {
    /// A JSON response from an Encodable value (for small bodies; hot paths write bytes).
    public static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var headers = HTTPHeaders()
        headers.add("content-type", "application/json")
        return Response(status: status, headers: headers, body: Array(try encoder.encode(value)))
    }

    public static func jsonBytes(_ body: [UInt8], status: Int = 200) -> Response {
        var headers = HTTPHeaders()
        headers.add("content-type", "application/json")
        return Response(status: status, headers: headers, body: body)
    }
}
