import ControlPlaneCore
import ControlPlaneHTTP
import FastCGI
import Foundation
import ServiceLog

/// controlplaned: the FastCGI responder nginx forwards to.
func serverConfiguration(from environment: Environment) throws -> ServerConfiguration {
    let modeText = environment.string("CONTROLPLANE_SOCKET_MODE", default: "0660")
    guard let mode = UInt32(modeText, radix: 8), mode <= 0o777 else {
        throw ConfigurationError.invalid(key: "CONTROLPLANE_SOCKET_MODE", expected: "an octal mode such as 0660")
    }
    let listen: ListenAddress
    if let text = environment["CONTROLPLANE_LISTEN"] {
        guard let parsed = ListenAddress.parse(text, socketMode: mode) else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_LISTEN", expected: "a socket path, host:port, or fd:0")
        }
        listen = parsed
    } else {
        listen = .inheritedStandardInput
    }
    return ServerConfiguration(
        listen: listen,
        threadCount: try environment.int("CONTROLPLANE_THREADS", default: ServerConfiguration.defaultThreadCount, range: 1...1024),
        maxBodyBytes: try environment.int("CONTROLPLANE_MAX_BODY_BYTES", default: 1 << 20, range: 0...(1 << 30)),
        drainTimeoutSeconds: try environment.double("CONTROLPLANE_DRAIN_TIMEOUT_SECONDS", default: 25),
        backlog: try environment.int("CONTROLPLANE_LISTEN_BACKLOG", default: 1024, range: 1...65535),
        slowRequestMilliseconds: try environment.int("CONTROLPLANE_SLOW_REQUEST_MS", default: 1000, range: 0...3_600_000))
}

JSONLogHandler.bootstrap()
var logger = Logger(component: "controlplaned")
// `controlplaned --routes`: the route table (method, template, operationId), for the check
// that openapi/controlplane.yaml documents exactly what is served.
if CommandLine.arguments.dropFirst().first == "--routes" {
    var router = Router()
    Routes.register(on: &router)
    for route in router.routes { print("\(route.method) \(route.template) \(route.operationId)") }
    exit(0)
}
do {
    let environment = try Environment.load()
    if let level = environment["CONTROLPLANE_LOG_LEVEL"] {
        guard let parsed = LogLevel(name: level) else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_LOG_LEVEL", expected: "debug, info, warning or error")
        }
        logger.minimumLevel = parsed
    }
    let configuration = try serverConfiguration(from: environment)
    let application = Application(settings: try ApplicationSettings(environment: environment), logger: logger)
    application.startBackgroundTasks()
    let server = FastCGIServer(configuration: configuration, logger: logger) { _ in application.makeResponder() }
    application.metrics.attach(server.stats)
    let supervisor = ServiceSupervisor(stats: server.stats, settings: application.settings)
    server.onTick = { supervisor.tick() }
    exit(try server.run())
} catch {
    logger.error("cannot start", ["error": .string(String(describing: error))])
    exit(78)  // EX_CONFIG: systemd will not loop quickly on a configuration mistake
}
