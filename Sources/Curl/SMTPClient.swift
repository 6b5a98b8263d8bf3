import CCurl
import Foundation

/// Sends one message over SMTP with libcurl: `smtp://` (with STARTTLS as configured) or
/// `smtps://` (implicit TLS), AUTH when a username is set. The only file that touches
/// libcurl's pointers.
public struct SMTPClient: Sendable {
    public enum TLS: String, Sendable {
        /// Refuse to send in clear (STARTTLS required on smtp://).
        case required
        /// STARTTLS when the server offers it.
        case opportunistic
        /// No STARTTLS (local sinks and tests).
        case off
    }

    public struct Settings: Sendable {
        public var url: String
        public var tls: TLS
        public var username: String?
        public var password: String?
        public var timeoutSeconds: Int
        public var caFile: String?

        public init(url: String, tls: TLS = .required, username: String? = nil, password: String? = nil,
                    timeoutSeconds: Int = 30, caFile: String? = nil) {
            self.url = url; self.tls = tls; self.username = username; self.password = password
            self.timeoutSeconds = timeoutSeconds; self.caFile = caFile
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// A 5xx SMTP answer: retrying the same message cannot help.
        public let permanent: Bool
    }

    public let settings: Settings

    public init(settings: Settings) {
        _ = SMTPClient.globalInit
        self.settings = settings
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func send(from: String, to: String, message: [UInt8]) throws {
        guard let curl = curl_easy_init() else { throw Failure(description: "libcurl could not start", permanent: false) }
        defer { curl_easy_cleanup(curl) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let recipients = curl_slist_append(nil, "<\(to)>")
        defer { curl_slist_free_all(recipients) }
        let source = MessageSource(message)
        let unmanaged = Unmanaged.passRetained(source)
        defer { unmanaged.release() }

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            cpcurl_setopt_string(curl, CURLOPT_URL, settings.url)
            cpcurl_setopt_string(curl, CURLOPT_MAIL_FROM, "<\(from)>")
            cpcurl_setopt_pointer(curl, CURLOPT_MAIL_RCPT, UnsafeMutableRawPointer(recipients))
            cpcurl_setopt_long(curl, CURLOPT_UPLOAD, 1)
            cpcurl_setopt_long(curl, CURLOPT_INFILESIZE, message.count)
            cpcurl_setopt_read_function(curl) { buffer, size, count, context in
                let source = Unmanaged<MessageSource>.fromOpaque(context!).takeUnretainedValue()
                return source.read(into: buffer!, capacity: size * count)
            }
            cpcurl_setopt_pointer(curl, CURLOPT_READDATA, unmanaged.toOpaque())
            cpcurl_setopt_long(curl, CURLOPT_TIMEOUT, settings.timeoutSeconds)
            cpcurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, min(settings.timeoutSeconds, 10))
            cpcurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
            cpcurl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
            switch settings.tls {
            case .required: cpcurl_setopt_long(curl, CURLOPT_USE_SSL, cpcurl_use_ssl_all())
            case .opportunistic: cpcurl_setopt_long(curl, CURLOPT_USE_SSL, cpcurl_use_ssl_try())
            case .off: cpcurl_setopt_long(curl, CURLOPT_USE_SSL, cpcurl_use_ssl_none())
            }
            if let ca = settings.caFile { cpcurl_setopt_string(curl, CURLOPT_CAINFO, ca) }
            if let user = settings.username {
                cpcurl_setopt_string(curl, CURLOPT_USERNAME, user)
                cpcurl_setopt_string(curl, CURLOPT_PASSWORD, settings.password ?? "")
            }
            cpcurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errors.baseAddress!))
            return curl_easy_perform(curl)
        }
        guard code == CURLE_OK else {
            let response = cpcurl_response_code(curl)
            let text = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let detail = text.isEmpty ? String(cString: curl_easy_strerror(code)) : text
            throw Failure(description: "SMTP: \(detail)", permanent: (500..<600).contains(response))
        }
    }
}

/// Feeds the message to libcurl's read callback.
final class MessageSource {
    private let bytes: [UInt8]
    private var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let n = min(capacity, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { source in
            buffer.withMemoryRebound(to: UInt8.self, capacity: n) { $0.update(from: source.baseAddress! + offset, count: n) }
        }
        offset += n
        return n
    }
}
