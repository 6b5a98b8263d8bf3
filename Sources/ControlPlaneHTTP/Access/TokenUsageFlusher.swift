import ControlPlaneCore
import Foundation
import Postgres
import ServiceLog

/// Writes what the token limiter counted to PostgreSQL every `intervalMilliseconds` (at most a
/// second): requests used and refused per token name and day, and `last_used_at` (at most once
/// a minute per token). Requests never wait for it. A failed flush keeps its counts for the next.
enum TokenUsageFlusher {
    static func start(limiter: TokenLimiter, conninfo: String, options: PostgresConnection.Options, intervalMilliseconds: Int,
                      logger: Logger) {
        let thread = Thread {
            let db = PostgresConnection(conninfo: conninfo, options: options)
            var failing = false
            while true {
                Thread.sleep(forTimeInterval: Double(intervalMilliseconds) / 1000)
                let (pending, touch) = limiter.drain()
                guard !pending.isEmpty || !touch.isEmpty else { continue }
                do {
                    try db.transaction { db in
                        try ServiceTokenUsageStore(db: db).add(pending.map(\.counts))
                        try ServiceTokenStore(db: db).touch(tokenIds: touch)
                    }
                    if failing { logger.info("token usage flushed again"); failing = false }
                } catch {
                    limiter.restore(pending, touch: touch)
                    if !failing { logger.warning("token usage not flushed; kept for the next try", ["error": .string(String(describing: error))]) }
                    failing = true
                }
            }
        }
        thread.name = "token-usage"
        thread.start()
    }
}
