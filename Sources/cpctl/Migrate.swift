import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending SQL migrations, or list their state.",
        subcommands: [Apply.self, Status.self, Baseline.self],
        defaultSubcommand: Apply.self)

    struct Location: ParsableArguments {
        @Option(help: "Directory of NNNN_name.sql files (default: CONTROLPLANE_MIGRATIONS_DIR, then ./sql).")
        var dir: String?

        func files() throws -> [MigrationFile] {
            let directory = dir ?? ProcessInfo.processInfo.environment["CONTROLPLANE_MIGRATIONS_DIR"] ?? "sql"
            return try MigrationFile.load(directory: directory)
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply every pending migration in order, each in its own transaction.",
            discussion: "Refuses to run when an applied migration's file was edited since (its checksum changed).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var location: Location
        @Flag(name: .customLong("dry-run"), help: "List what would be applied, in order, and apply nothing.") var dryRun = false

        func run() throws {
            let files = try location.files()
            let connection = try database.connect()
            if dryRun {
                let pending = try Migrator(connection: connection, files: files).pendingFiles()  // refuses as migrate would
                for file in pending { print("would apply \(file.fileName)\(file.runsOutsideTransaction ? " (outside a transaction)" : "")") }
                print(pending.isEmpty ? "up to date: nothing to apply" : "\(pending.count) migration(s) would be applied")
                return
            }
            do {
                let applied = try Migrator(connection: connection, files: files).migrate(installedFrom: Migrate.installedFrom) { file, ms in
                    print("applied \(file.fileName) (\(ms) ms)")
                }
                print(applied.isEmpty ? "up to date: nothing to apply" : "applied \(applied.count) migration(s)")
            } catch let error as MigrationError {
                FileHandle.standardError.write(Data("cpctl migrate: \(error)\n".utf8))
                throw ExitCode(SysExit.dataError)
            }
        }
    }

    /// `user@host` for schema_history.
    static var installedFrom: String {
        "\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")@\(ProcessInfo.processInfo.hostName)"
    }

    struct Baseline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record pending migrations as applied without running them: for a database built from these files with psql -f.",
            discussion: "Only for that case: a migration recorded here is never run by cpctl migrate.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var location: Location
        @Option(name: .customLong("up-to"), help: "The last version to record (default: every file).") var upTo: Int?

        func run() throws {
            let recorded = try Migrator(connection: try database.connect(), files: try location.files())
                .baseline(upTo: upTo, installedFrom: Migrate.installedFrom)
            print(recorded.isEmpty ? "nothing to record" : "recorded \(recorded.count) migration(s) as applied (\(recorded.first!)–\(recorded.last!))")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations (a table; --json for JSON lines).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var location: Location
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            let files = try location.files()
            let connection = try database.connect()
            let entries = try Migrator(connection: connection, files: files).status()
            if json {
                for entry in entries {
                    var out = JSONWriter()
                    out.beginObject()
                    out.key("version"); out.int(entry.version)
                    out.key("description"); out.string(entry.description)
                    out.key("state"); out.string(entry.state.rawValue)
                    out.key("installedOn"); out.timestamp(entry.installedOn)
                    out.key("installedBy"); out.string(entry.installedBy)
                    out.key("checksum"); out.string(entry.checksum)
                    out.endObject()
                    printJSON(out.bytes)
                }
                if entries.contains(where: { $0.state == .edited || $0.state == .missingFile }) { throw ExitCode(SysExit.dataError) }
                return
            }
            print("VERSION  STATE         INSTALLED_ON          BY            DESCRIPTION")
            for entry in entries {
                print(String(format: "%04d     %-13@ %-21@ %-13@ %@", entry.version, entry.state.rawValue as NSString,
                             (entry.installedOn ?? "-") as NSString, (entry.installedBy ?? "-") as NSString,
                             entry.description as NSString))
            }
            if entries.contains(where: { $0.state == .edited || $0.state == .missingFile }) { throw ExitCode(SysExit.dataError) }
        }
    }
}
