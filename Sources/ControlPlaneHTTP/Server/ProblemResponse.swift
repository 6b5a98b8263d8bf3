import ControlPlaneCore
import FastCGI
import ServiceLog

/// Writes a `Problem` as an RFC 9457 body, by hand so an error path never fails to encode.
/// Texts that may echo the client's input are written as ASCII (`\u` escapes).
public enum ProblemResponse {
    public static let contentType = "application/problem+json"

    public static func response(for problem: Problem, traceId: String, instance: String? = nil) -> Response {
        var out = [UInt8]()
        out.reserveCapacity(256)
        out.append(contentsOf: Array("{\"type\":".utf8))
        JSONText.appendQuoted(problem.type.uri, to: &out)
        out.append(contentsOf: Array(",\"title\":".utf8))
        JSONText.appendQuoted(problem.title ?? HTTPStatus.reasonPhrase(problem.status), to: &out)
        out.append(contentsOf: Array(",\"status\":\(problem.status)".utf8))
        if let detail = problem.detail {
            out.append(contentsOf: Array(",\"detail\":".utf8))
            JSONText.appendQuotedASCII(detail, to: &out)
        }
        if let instance {
            out.append(contentsOf: Array(",\"instance\":".utf8))
            JSONText.appendQuotedASCII(instance, to: &out)
        }
        if !problem.invalidParams.isEmpty {
            out.append(contentsOf: Array(",\"invalidParams\":[".utf8))
            for (index, param) in problem.invalidParams.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Array("{\"name\":".utf8))
                JSONText.appendQuotedASCII(param.name, to: &out)
                out.append(contentsOf: Array(",\"reason\":".utf8))
                JSONText.appendQuotedASCII(param.reason, to: &out)
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
        for (name, value) in problem.headers { headers.add(name, value) }
        return Response(status: problem.status, headers: headers, body: out)
    }
}
