import Foundation
import Postgres
import ServiceLog
import Synchronization

/// Group commit for the email check's attempt rows (the funnel's hot path): every worker
/// hands its row to one writer thread, which inserts whatever has gathered in one statement
/// (one transaction, one WAL flush) while the next batch gathers. A row's callback runs only
/// once the statement holding it has committed — or failed (the database went away), and then
/// every row of that batch gets the failure, a 503. The email check answers from that
/// callback, so no request is answered 200 without its row; and since it answers later (the
/// worker takes other requests meanwhile), a batch can hold many more rows than there are
/// worker threads.
///
/// The funnel's other steps (draft, code send, code check, details) keep their row in the
/// transaction of the step itself: it commits with the state it records, or not at all.
public final class AttemptLogWriter: @unchecked Sendable {  // `gathering` guarded by `condition`, `answering` by `answers`
    public struct Row: Sendable {
        public let traceId: String, domain: String?, emailHash: [UInt8]?, ipHash: [UInt8], outcome: String
        public init(traceId: String, domain: String?, emailHash: [UInt8]?, ipHash: [UInt8], outcome: String) {
            self.traceId = traceId; self.domain = domain; self.emailHash = emailHash; self.ipHash = ipHash; self.outcome = outcome
        }
    }

    public typealias Committed = @Sendable (Result<Void, Error>) -> Void

    private final class Batch {
        var rows: [Row] = []
        var callbacks: [Committed] = []
    }

    private let conninfo: String
    private let options: PostgresConnection.Options
    private let logger: Logger
    private let condition = NSCondition()
    private var gathering = Batch()
    private let started = Atomic<Bool>(false)
    /// Statements run and rows they held (metrics: their ratio is the batch size).
    public let batches = Atomic<Int>(0), rowsBatched = Atomic<Int>(0)

    public init(conninfo: String, options: PostgresConnection.Options, logger: Logger) {
        self.conninfo = conninfo
        self.options = options
        self.logger = logger
    }

    /// Queues `row`; `committed` runs (on the answering thread) once its batch committed or failed.
    public func append(_ row: Row, committed: @escaping Committed) {
        startIfNeeded()
        condition.lock()
        gathering.rows.append(row)
        gathering.callbacks.append(committed)
        if gathering.rows.count == 1 { condition.signal() }  // the writer may be idle
        condition.unlock()
    }

    /// Starts the writer thread now (at process start); otherwise the first row starts it.
    public func start() { startIfNeeded() }

    private func startIfNeeded() {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let thread = Thread { [self] in run() }
        thread.name = "attempt-log"
        thread.start()
        let answerer = Thread { [self] in answer() }
        answerer.name = "attempt-answers"
        answerer.start()
    }

    private let answers = NSCondition()
    private var answering: [(callbacks: [Committed], outcome: Result<Void, Error>)] = []

    private func answer() {
        while true {
            answers.lock()
            while answering.isEmpty { answers.wait() }
            let ready = answering
            answering.removeAll(keepingCapacity: true)
            answers.unlock()
            for (callbacks, outcome) in ready {
                for committed in callbacks { committed(outcome) }
            }
        }
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
            batches.add(1, ordering: .relaxed)
            rowsBatched.add(batch.rows.count, ordering: .relaxed)
            // The answers (a socket write each) go to their own thread, so the next batch's
            // statement overlaps them instead of waiting behind them.
            answers.lock()
            answering.append((batch.callbacks, outcome))
            answers.signal()
            answers.unlock()
        }
    }
}
