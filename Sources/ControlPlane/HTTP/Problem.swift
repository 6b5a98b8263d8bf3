import FastCGI
import ServiceLog

/// RFC 9457 problem details, written by hand so an error path never fails to encode.
public enum Problem {
    public static let contentType = "application/problem+json"

    public static func response(for error: HTTPError, traceId: String, instance: String? = nil) -> Response {
        var out = [UInt8]()
        out.reserveCapacity(256)
        out.append(contentsOf: Array("{\"type\":".utf8))
        JSONText.appendQuoted(error.slug.map { "urn:controlplane:problem:\($0)" } ?? "about:blank", to: &out)
        out.append(contentsOf: Array(",\"title\":".utf8))
        JSONText.appendQuoted(error.title, to: &out)
        out.append(contentsOf: Array(",\"status\":\(error.status)".utf8))
        if let detail = error.detail {
            out.append(contentsOf: Array(",\"detail\":".utf8))
            JSONText.appendQuoted(detail, to: &out)
        }
        if let instance {
            out.append(contentsOf: Array(",\"instance\":".utf8))
            JSONText.appendQuoted(instance, to: &out)
        }
        if !error.invalidParams.isEmpty {
            out.append(contentsOf: Array(",\"invalidParams\":[".utf8))
            for (index, param) in error.invalidParams.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Array("{\"name\":".utf8))
                JSONText.appendQuoted(param.name, to: &out)
                out.append(contentsOf: Array(",\"reason\":".utf8))
                JSONText.appendQuoted(param.reason, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: Array(",\"traceId\":".utf8))
        JSONText.appendQuoted(traceId, to: &out)
        out.append(UInt8(ascii: "}"))
        var headers = HTTPHeaders()
        headers.add("content-type", contentType)
        headers.add("cache-control", "no-store")
        for (name, value) in error.headers { headers.add(name, value) }
        return Response(status: error.status, headers: headers, body: out)
    }
}
