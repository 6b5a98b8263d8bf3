import CFastCGI
import Foundation
import ServiceLog
import Synchronization

/// Answers requests on one worker thread. Each thread gets its own instance, so an
/// implementation may hold per-thread state (a database connection) without locks.
public protocol Responder: AnyObject {
    func respond(to request: Request) -> Response
}

public enum ServerError: Error, CustomStringConvertible {
    case listen(String)
    case notASocket

    public var description: String {
        switch self {
        case .listen(let what): "cannot listen on \(what)"
        case .notASocket: "fd 0 is not a listening socket (set CONTROLPLANE_LISTEN or start from a .socket unit)"
        }
    }
}

/// A fixed pool of threads, each looping on `FCGX_Accept_r` over one listen socket.
///
/// Stopping: SIGTERM/SIGINT are blocked in every thread and taken by `sigwait` on the
/// calling thread. The listen socket is non-blocking and each idle worker waits in
/// `epoll_wait` on it (EPOLLEXCLUSIVE, so a connection wakes one worker) and on a wake
/// pipe; on a stop signal the pipe is written, idle workers return, busy ones finish
/// their request first. libfcgi's own SIGTERM flag is only seen inside accept, so it
/// cannot be relied on.
public final class FastCGIServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let stats: ServerStats
    private let logger: Logger
    private let makeResponder: @Sendable (Int) -> any Responder
    private let stopping = Atomic<Bool>(false)
    private var listenDescriptor: Int32 = -1
    private var wakePipe: [Int32] = [-1, -1]
    private var poller: Int32 = -1
    private let slots = SlotPool()
    /// Called about once a second by the monitor thread while the server runs (readiness,
    /// status and watchdog notifications live with the application).
    public var onTick: (@Sendable () -> Void)?

    public init(configuration: ServerConfiguration, logger: Logger,
                makeResponder: @escaping @Sendable (Int) -> any Responder) {
        self.configuration = configuration
        self.logger = logger
        self.makeResponder = makeResponder
        self.stats = ServerStats(threadCount: configuration.threadCount)
    }

    /// Listens, serves until a stop signal, drains, and returns the exit status.
    public func run() throws -> Int32 {
        cfcgi_block_control_signals()
        FCGX_Init()
        cfcgi_ignore_sigpipe()
        listenDescriptor = try openListenSocket()
        poller = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard cfcgi_set_nonblocking(listenDescriptor) == 0, pipe(&wakePipe) == 0, poller >= 0 else {
            throw ServerError.listen("\(configuration.listen) (non-blocking setup failed)")
        }
        var wake = epoll_event(events: cfcgi_epoll_in(), data: epoll_data_t(u64: Self.wakeToken))
        epoll_ctl(poller, EPOLL_CTL_ADD, wakePipe[0], &wake)
        arm(descriptor: listenDescriptor, token: Self.listenToken, add: true)
        logger.info("listening", ["listen": .string(configuration.listen.description),
                                  "threads": .int(configuration.threadCount),
                                  "maxBodyBytes": .int(configuration.maxBodyBytes)])

        let group = DispatchGroup()
        for index in 0..<configuration.threadCount {
            group.enter()
            let thread = Thread { [self] in
                self.workerLoop(index: index)
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.name = "fcgi-worker-\(index)"
            thread.start()
        }

        startMonitor()
        while true {
            let signal = cfcgi_wait_control_signal()
            if signal == SIGHUP {
                logger.info("SIGHUP ignored: configuration is read at start; restart to apply changes")
                continue
            }
            logger.info("stopping: draining in-flight requests", ["signal": .int(Int(signal)),
                                                                   "inFlight": .int(stats.inFlightCount)])
            break
        }
        stopping.store(true, ordering: .sequentiallyConsistent)
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)

        let deadline = DispatchTime.now() + configuration.drainTimeoutSeconds
        var drained = group.wait(timeout: deadline) == .success
        // Deferred responses finish on other threads: wait for them too.
        while drained && stats.inFlightCount > 0 {
            if DispatchTime.now() >= deadline { drained = false; break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        slots.closeIdleConnections()
        closeListenSocket()
        if drained {
            logger.info("stopped", ["accepted": .int(stats.acceptedCount)])
            return 0
        }
        logger.error("drain deadline passed with requests in flight",
                     ["inFlight": .int(stats.inFlightCount),
                      "drainTimeoutSeconds": .double(configuration.drainTimeoutSeconds)])
        return 1
    }

    /// Once a second: requests running past the slow threshold are logged once, while they
    /// run (the usual slow log comes only when they end), then the application's tick.
    private func startMonitor() {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 1)
                if configuration.slowRequestMilliseconds > 0 {
                    let now = MonotonicClock.nanoseconds()
                    for request in stats.newlySlow(milliseconds: configuration.slowRequestMilliseconds, now: now) {
                        logger.warning("request still running", ["traceId": .string(request.traceId), "method": .string(request.method),
                                                                 "path": .string(request.path),
                                                                 "runningMs": .int(Int((now &- request.startedAt) / 1_000_000))])
                    }
                }
                onTick?()
            }
        }
        thread.name = "fcgi-monitor"
        thread.start()
    }

    private func openListenSocket() throws -> Int32 {
        switch configuration.listen {
        case .inheritedStandardInput:
            guard cfcgi_is_listening_socket(0) == 1 else { throw ServerError.notASocket }
            return 0
        case .unixSocket(let path, let mode):
            let fd = FCGX_OpenSocket(path, Int32(configuration.backlog))
            guard fd >= 0 else { throw ServerError.listen(path) }
            guard chmod(path, mode_t(mode)) == 0 else { throw ServerError.listen("\(path) (chmod)") }
            return fd
        case .tcp(let host, let port):
            let fd = FCGX_OpenSocket("\(host):\(port)", Int32(configuration.backlog))
            guard fd >= 0 else { throw ServerError.listen("\(host):\(port)") }
            return fd
        }
    }

    private func closeListenSocket() {
        if case .unixSocket(let path, _) = configuration.listen {
            unlink(path)
        }
        if listenDescriptor > 0 { close(listenDescriptor) }
    }

    /// Worker threads share one epoll set holding the listen socket, the wake pipe and every
    /// idle kept connection (FCGI_KEEP_CONN), each armed EPOLLONESHOT so exactly one worker
    /// takes an event. A kept connection therefore pins no thread: whichever worker wakes
    /// serves its next request. The listen socket is re-armed as soon as a connection is
    /// accepted, so accepts never herd.
    private func workerLoop(index: Int) {
        let responder = makeResponder(index)
        var event = epoll_event()
        while !stopping.load(ordering: .relaxed) {
            let n = epoll_wait(poller, &event, 1, -1)
            if n < 0 {
                if errno == EINTR { continue }
                logger.error("epoll_wait failed", ["worker": .int(index), "errno": .int(Int(errno))])
                break
            }
            if n == 0 { continue }
            let token = event.data.u64
            if token == Self.wakeToken || stopping.load(ordering: .relaxed) { break }
            let slot: RequestSlot
            if token == Self.listenToken {
                slot = slots.acquire(listenDescriptor: listenDescriptor)
                let status = slot.accept()
                arm(descriptor: listenDescriptor, token: Self.listenToken, add: false)
                if status < 0 {
                    slots.release(slot)
                    if status != -EAGAIN && status != -EWOULDBLOCK && status != -EINTR && !stopping.load(ordering: .relaxed) {
                        logger.warning("accept failed", ["worker": .int(index), "errno": .int(Int(-status))])
                    }
                    continue
                }
            } else {
                slot = SlotPool.slot(forToken: token)
                // The next request on a kept connection (or its end: libfcgi then closes it).
                if slot.accept() < 0 {
                    slots.release(slot)
                    continue
                }
            }
            serve(slot: slot, responder: responder)
        }
    }

    /// After a response: a kept connection waits in the epoll set for its next request,
    /// anything else gives its slot back.
    private func recycle(_ slot: RequestSlot) {
        let descriptor = slot.connectionDescriptor
        if descriptor >= 0 && !stopping.load(ordering: .relaxed) {
            let add = slot.registeredDescriptor != descriptor
            slot.registeredDescriptor = descriptor
            arm(descriptor: descriptor, token: SlotPool.token(for: slot), add: add)
        } else {
            slots.release(slot)
        }
    }

    static let listenToken = UInt64.max
    static let wakeToken = UInt64.max - 1

    private func arm(descriptor: Int32, token: UInt64, add: Bool) {
        var event = epoll_event(events: cfcgi_epoll_in_oneshot(), data: epoll_data_t(u64: token))
        if epoll_ctl(poller, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, descriptor, &event) != 0 {
            let first = errno
            if epoll_ctl(poller, add ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, descriptor, &event) != 0 {
                logger.error("epoll_ctl failed", ["errno": .int(Int(first))])
            }
        }
    }

    private func serve(slot: RequestSlot, responder: any Responder) {
        stats.begin()
        let request = slot.readRequest(maxBodyBytes: configuration.maxBodyBytes)
        stats.track(slot: slot.id, request)
        let response = responder.respond(to: request)
        if let deferred = response.deferred {
            // The slot now belongs to whoever finishes the response; this worker moves on.
            deferred.start { [self] response in complete(slot: slot, request: request, response: response) }
            return
        }
        complete(slot: slot, request: request, response: response)
    }

    /// Writes the response, ends the request and recycles its slot (on the worker's thread, or
    /// on the thread that finished a deferred response).
    private func complete(slot: RequestSlot, request: Request, response: Response) {
        let delivered = slot.write(response, headOnly: request.method == "HEAD")
        // Reading stdin to its end lets libfcgi keep a kept connection (it closes one with
        // unread input) and makes an immediate close safe for the others.
        if request.bodyProblem == nil && slot.drainInput() && !slot.holdsKeptConnectionAfterThisRequest {
            slot.closeWithoutLingering()
        }
        slot.finish()
        let elapsedMs = Int((MonotonicClock.nanoseconds() - request.receivedAt) / 1_000_000)
        let slow = configuration.slowRequestMilliseconds > 0 && elapsedMs >= configuration.slowRequestMilliseconds
        stats.end(slow: slow)
        if slow {
            logger.warning("slow request", ["traceId": .string(request.traceId), "method": .string(request.method),
                                            "path": .string(request.path), "status": .int(response.status),
                                            "durationMs": .int(elapsedMs)])
        }
        if !delivered {
            logger.info("client went away before the response was written",
                        ["traceId": .string(request.traceId), "status": .int(response.status)])
        }
        // Untracked before the slot can carry another worker's next request.
        stats.untrack(slot: slot.id)
        recycle(slot)
    }
}
