import FastCGI
import Postgres
import ServiceLog

/// Settings of the HTTP application itself (not of the transport).
public struct ApplicationSettings: Sendable {
    public var databaseURL: String
    public var databaseOptions: PostgresConnection.Options
    public var accessLog: Bool

    public init(databaseURL: String, databaseOptions: PostgresConnection.Options = .init(), accessLog: Bool = true) {
        self.databaseURL = databaseURL
        self.databaseOptions = databaseOptions
        self.accessLog = accessLog
    }

    public init(environment: Environment) throws {
        var options = PostgresConnection.Options()
        options.statementTimeoutMilliseconds = try environment.int(
            "CONTROLPLANE_STATEMENT_TIMEOUT_MS", default: 5000, range: 1...600_000)
        options.connectTimeoutSeconds = try environment.int(
            "CONTROLPLANE_DB_CONNECT_TIMEOUT_SECONDS", default: 3, range: 1...60)
        options.applicationName = "controlplaned"
        self.init(databaseURL: try environment.databaseURL(preferring: "CONTROLPLANE_DATABASE_URL"),
                  databaseOptions: options,
                  accessLog: try environment.bool("CONTROLPLANE_ACCESS_LOG", default: true))
    }
}

/// The routes and shared settings; one per process, shared by every worker thread.
public final class Application: Sendable {
    public let settings: ApplicationSettings
    public let router: Router
    public let logger: Logger

    /// `routes` is replaceable so tests can drive the responder with routes of their own.
    public init(settings: ApplicationSettings, logger: Logger, routes: (inout Router) -> Void = Routes.register(on:)) {
        self.settings = settings
        self.logger = logger
        var router = Router()
        routes(&router)
        self.router = router
    }

    /// A responder for one worker thread, with its own database connection.
    public func makeResponder() -> ApplicationResponder {
        ApplicationResponder(application: self,
                             database: PostgresConnection(conninfo: settings.databaseURL, options: settings.databaseOptions))
    }
}

/// Every route the backend serves; openapi/controlplane.yaml documents each operationId.
public enum Routes {
    public static func register(on router: inout Router) {
        router.add("GET", "/internal/health", operationId: "getHealth", HealthHandlers.health)
    }
}
