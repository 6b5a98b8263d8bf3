import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending SQL migrations, or list their state.",
        subcommands: [Apply.self, Status.self],
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

        func run() throws {
            let files = try location.files()
            let connection = try database.connect()
            let user = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
            let from = "\(user)@\(ProcessInfo.processInfo.hostName)"
            do {
                let applied = try Migrator(connection: connection, files: files).migrate(installedFrom: from) { file, ms in
                    print("applied \(file.fileName) (\(ms) ms)")
                }
                print(applied.isEmpty ? "up to date: nothing to apply" : "applied \(applied.count) migration(s)")
            } catch let error as MigrationError {
                FileHandle.standardError.write(Data("cpctl migrate: \(error)\n".utf8))
                throw ExitCode(SysExit.dataError)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var location: Location

        func run() throws {
            let files = try location.files()
            let connection = try database.connect()
            let entries = try Migrator(connection: connection, files: files).status()
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
