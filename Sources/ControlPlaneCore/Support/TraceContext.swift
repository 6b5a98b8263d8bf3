import OpenSSLCrypto

/// The `traceparent` every outbound call carries (webhooks, emails, registry requests): the
/// trace id of the request or run that caused it, and a new span id for this call.
public enum TraceContext {
    /// A W3C trace-id for a trace id: itself when it already is one (32 lowercase hex digits,
    /// as nginx's request ids and W3C traceparents are), else the first 16 bytes of its SHA-256
    /// (a client's free-form x-trace-id), so the same id always maps to the same trace.
    public static func w3cTraceId(_ traceId: String) -> String {
        let b = traceId.utf8
        if b.count == 32, b.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }), !b.allSatisfy({ $0 == 48 }) { return traceId }
        return Hex.encode(Array(SHA256.hash(Array(b)).prefix(16)))
    }

    /// A new trace id, for work no request caused (a timer's run).
    public static func newTraceId() -> String { Hex.encode(SecureRandom.bytes(16)) }

    /// `00-<trace-id>-<new span id>-01`.
    public static func traceparent(traceId: String) -> String {
        var span = SecureRandom.bytes(8)
        if span.allSatisfy({ $0 == 0 }) { span[7] = 1 }
        return "00-\(w3cTraceId(traceId))-\(Hex.encode(span))-01"
    }
}
