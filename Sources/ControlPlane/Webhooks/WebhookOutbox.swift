import Crypto
import Postgres
import ServiceLog

/// Queues a lifecycle event for every subscribed endpoint, in the caller's transaction,
/// so an event exists exactly when the change it announces was committed.
public enum WebhookOutbox {
    /// Payload: `{"type":…,"timestamp":…,"data":{…tenant…}}`, stored as the bytes to sign.
    public static func enqueue(_ db: PostgresConnection, event: String, data: [UInt8]) throws {
        var json = JSONWriter(capacity: data.count + 96)
        json.beginObject()
        json.key("type"); json.string(event)
        json.key("timestamp"); json.string(Logger.timestamp())
        json.key("data"); json.raw(data)
        json.endObject()
        let payload = String(decoding: json.bytes, as: UTF8.self)
        let messageId = "msg_" + Base64.encode(SecureRandom.bytes(18), url: true)
        try db.query("""
            INSERT INTO webhook_outbox (message_id, endpoint_id, event_type, payload)
            SELECT \(messageId), id, \(event), \(payload) FROM webhook_endpoints
            WHERE deleted_at IS NULL AND disabled_at IS NULL AND (\(event) = ANY (events) OR '*' = ANY (events))
            """)
    }
}
