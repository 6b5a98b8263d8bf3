/// A PostgreSQL failure. `description` names the class and SQLSTATE only, never values
/// from the statement or the server's message (which can quote user data);
/// `debugDescription` has the server's text for operators' eyes.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// No connection, or it was lost (server restart, terminated backend, network).
        case connectionUnavailable
        case uniqueViolation
        case foreignKeyViolation
        case checkViolation
        case notNullViolation
        case exclusionViolation
        case invalidTextRepresentation
        case numericOutOfRange
        case invalidDatetime
        case stringTooLong
        /// Any other data exception (SQLSTATE class 22): a value the statement cannot take.
        case dataException
        case insufficientPrivilege
        case serializationFailure
        case deadlockDetected
        case lockNotAvailable
        case queryCanceled
        /// RAISE EXCEPTION from a trigger or function (P0001).
        case raisedException
        case undefinedObject
        case syntaxError
        case other
    }

    public let kind: Kind
    public let sqlState: String?
    public let constraint: String?
    let serverMessage: String
    let serverDetail: String?

    public init(kind: Kind, sqlState: String?, constraint: String? = nil, serverMessage: String, serverDetail: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.constraint = constraint
        self.serverMessage = serverMessage
        self.serverDetail = serverDetail
    }

    public static func kind(forSQLState state: String) -> Kind {
        switch state {
        case "23505": .uniqueViolation
        case "23503": .foreignKeyViolation
        case "23514": .checkViolation
        case "23502": .notNullViolation
        case "23P01": .exclusionViolation
        case "22P02": .invalidTextRepresentation
        case "22003": .numericOutOfRange
        case "22007", "22008": .invalidDatetime
        case "22001": .stringTooLong
        case "42501": .insufficientPrivilege
        case "40001": .serializationFailure
        case "40P01": .deadlockDetected
        case "55P03": .lockNotAvailable
        case "57014": .queryCanceled
        case "P0001": .raisedException
        case "42601": .syntaxError
        case "42P01", "42703", "42883", "42704": .undefinedObject
        // admin_shutdown, crash_shutdown, cannot_connect_now, and the connection class.
        case "57P01", "57P02", "57P03": .connectionUnavailable
        default: state.hasPrefix("08") ? .connectionUnavailable : (state.hasPrefix("22") ? .dataException : .other)
        }
    }

    public var description: String {
        "PostgreSQL error \(kind.rawValue)\(sqlState.map { " (SQLSTATE \($0))" } ?? "")"
    }

    public var debugDescription: String {
        "\(description): \(serverMessage)\(serverDetail.map { " — \($0)" } ?? "")"
    }

    /// The message text of a `RAISE EXCEPTION` written by this project's own SQL, which
    /// never interpolates values into it.
    public var raisedMessage: String? { kind == .raisedException ? serverMessage : nil }
}
