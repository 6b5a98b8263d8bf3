import Foundation
import Postgres
import ServiceLog
import Synchronization

/// Group commit for the email check's attempt rows (the funnel's hot path): every worker
/// hands its row to one writer thread, which inserts whatever has gathered in one statement
/// (one transaction, one WAL flush) while the next batch gathers. A request is answered only
/// once the statement holding its row has committed; if it failed (the database went away),
/// every request in that batch gets the failure, a 503. So no request is answered 200
/// without its row, and a burst costs one commit per batch instead of one per request.
///
/// The funnel's other steps (draft, code send, code check, details) keep their row in the
/// transaction of the step itself: it commits with the state it records, or not at all.
public final class AttemptLogWriter: @unchecked Sendable {  // mutable state guarded by `condition`
    public struct Row: Sendable {
        public let traceId: String, domain: String?, emailHash: [UInt8]?, ipHash: [UInt8], outcome: String
        public init(traceId: String, domain: String?, emailHash: [UInt8]?, ipHash: [UInt8], outcome: String) {
            self.traceId = traceId; self.domain = domain; self.emailHash = emailHash; self.ipHash = ipHash; self.outcome = outcome
        }
    }

    private final class Batch {
        var rows: [Row] = []
        var outcome: Result<Void, Error>?
    }

    private let conninfo: String
    private let options: PostgresConnection.Options
    private let logger: Logger
    private let condition = NSCondition()
    private var gathering = Batch()
    private let started = Atomic<Bool>(false)
    /// How long a request waits for its batch before it is answered 503 (the row may still land).
    private let waitSeconds: Double

    public init(conninfo: String, options: PostgresConnection.Options, logger: Logger) {
        self.conninfo = conninfo
        self.options = options
        self.logger = logger
        waitSeconds = Double(options.statementTimeoutMilliseconds) / 1000 + Double(options.connectTimeoutSeconds) + 1
    }

    /// Returns once `row` is committed; throws what the insert threw (or a deadline problem).
    public func append(_ row: Row) throws {
        startIfNeeded()
        let deadline = Date(timeIntervalSinceNow: waitSeconds)
        condition.lock()
        let batch = gathering
        batch.rows.append(row)
        if batch.rows.count == 1 { condition.broadcast() }  // the writer may be idle
        while batch.outcome == nil {
            if !condition.wait(until: deadline) && batch.outcome == nil {
                condition.unlock()
                throw Problem(503, type: .deadlineExceeded, detail: "The attempt log did not commit in time; retry.",
                              headers: [("retry-after", "1")])
            }
        }
        let outcome = batch.outcome!
        condition.unlock()
        try outcome.get()
    }

    /// Starts the writer thread now (at process start); otherwise the first row starts it.
    public func start() { startIfNeeded() }

    private func startIfNeeded() {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let thread = Thread { [self] in run() }
        thread.name = "attempt-log"
        thread.start()
    }

    private func run() {
        let db = PostgresConnection(conninfo: conninfo, options: options)
        while true {
            condition.lock()
            while gathering.rows.isEmpty { condition.wait() }
            let batch = gathering
            gathering = Batch()
            condition.unlock()
            let outcome = Result<Void, Error> { try SignupAttemptStore(db: db).recordEmailChecks(batch.rows) }
            if case .failure(let error) = outcome {
                logger.warning("attempt log batch failed", ["rows": .int(batch.rows.count), "error": .string(String(describing: error))])
            }
            condition.lock()
            batch.outcome = outcome
            condition.broadcast()
            condition.unlock()
        }
    }
}
