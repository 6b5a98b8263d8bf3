import OpenSSLCrypto
import Foundation

/// One `sql/NNNN_name.sql` file.
public struct MigrationFile: Sendable, Equatable {
    public let version: Int
    public let description: String
    public let fileName: String
    public let contents: String
    /// SHA-256 of the file's bytes, hex.
    public let checksum: String
    /// A file whose first line is `-- controlplane:no-transaction` runs outside a transaction,
    /// one statement at a time (statements end with `;` at the end of a line): for what
    /// PostgreSQL refuses inside one, such as `CREATE INDEX CONCURRENTLY`, which keeps a live
    /// table writable while the index builds.
    public var runsOutsideTransaction: Bool { contents.hasPrefix(Self.noTransactionMarker) }
    public static let noTransactionMarker = "-- controlplane:no-transaction"

    /// The statements of a file that runs outside a transaction, in order.
    public var statements: [String] {
        var statements: [String] = [], current = ""
        for line in contents.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
        return statements
    }

    public init(fileName: String, contents: Data) throws {
        guard let parsed = Self.parseName(fileName) else { throw MigrationError.badFileName(fileName) }
        guard let text = String(data: contents, encoding: .utf8) else { throw MigrationError.notUTF8(fileName) }
        version = parsed.version
        description = parsed.description
        self.fileName = fileName
        self.contents = text
        checksum = Hex.encode(SHA256.hash(Array(contents)))
    }

    /// `0007_tenant_connectors.sql` → (7, "tenant connectors").
    public static func parseName(_ name: String) -> (version: Int, description: String)? {
        guard name.hasSuffix(".sql") else { return nil }
        let stem = name.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let words = stem[stem.index(after: underscore)...]
        guard digits.count == 4, digits.allSatisfy(\.isASCII), let version = Int(digits), version > 0,
              !words.isEmpty, words.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            return nil
        }
        return (version, words.replacingOccurrences(of: "_", with: " "))
    }

    /// Every migration in a directory, in version order; other files are ignored,
    /// a malformed `.sql` name or a repeated version is an error.
    public static func load(directory: String) throws -> [MigrationFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError.directoryUnreadable(directory)
        }
        var files: [MigrationFile] = []
        for name in names where name.hasSuffix(".sql") {
            guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)) else {
                throw MigrationError.directoryUnreadable(name)
            }
            files.append(try MigrationFile(fileName: name, contents: data))
        }
        files.sort { $0.version < $1.version }
        for (a, b) in zip(files, files.dropFirst()) where a.version == b.version {
            throw MigrationError.duplicateVersion(a.version)
        }
        return files
    }
}

public enum MigrationError: Error, CustomStringConvertible {
    case badFileName(String)
    case notUTF8(String)
    case directoryUnreadable(String)
    case duplicateVersion(Int)
    case editedAfterApply([Int])
    case missingFile([Int])
    case failed(version: Int, reason: String)
    case failedOutsideTransaction(version: Int, reason: String)

    public var description: String {
        switch self {
        case .badFileName(let name): "\(name): migration files are named NNNN_lowercase_words.sql"
        case .notUTF8(let name): "\(name) is not UTF-8"
        case .directoryUnreadable(let dir): "cannot read migrations from \(dir)"
        case .duplicateVersion(let v): "two migration files have version \(v)"
        case .editedAfterApply(let versions):
            "applied migrations were edited since they ran (versions \(versions.map(String.init).joined(separator: ", "))): "
                + "never edit a released migration; restore it and add a new one"
        case .missingFile(let versions):
            "applied migrations have no file here (versions \(versions.map(String.init).joined(separator: ", ")))"
        case .failed(let version, let reason): "migration \(version) failed and was rolled back: \(reason)"
        case .failedOutsideTransaction(let version, let reason):
            "migration \(version) failed (it runs outside a transaction: the statements before the failing one stay done; "
                + "drop an INVALID index it left, then run it again): \(reason)"
        }
    }
}
