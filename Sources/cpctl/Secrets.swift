import ArgumentParser
import ControlPlaneCore
import Foundation

struct Secrets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keys that keep webhook signing secrets encrypted at rest (CONTROLPLANE_SECRETS_KEYS).",
        discussion: """
            Rotation: generate a key, put it first in CONTROLPLANE_SECRETS_KEYS (keep the old one after it) for \\
            controlplaned, the sync and cpctl, run `cpctl secrets reseal`, then remove the old key.
            """,
        subcommands: [GenerateKey.self, Reseal.self])

    struct GenerateKey: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate-key", abstract: "Print a new random key (base64, 32 bytes).")
        func run() throws { print(SecretKeyRing.generateKey()) }
    }

    struct Reseal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal every webhook secret under the first configured key (plaintext rows from before migration 0009 too).")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            guard let keys = try SecretKeyRing.load(try Environment.load()) else {
                throw CLIError("\\(SecretKeyRing.setting) is not set", exit: SysExit.config)
            }
            let changed: Int
            do {
                changed = try audited(try database.connect(), action: "secrets.reseal", target: "webhook_endpoints") { db in
                    try WebhookEndpointStore(db: db).resealAll(keys)  // joins this transaction: the count and the audit row commit together
                }
            } catch SecretKeyRing.Failure.unknownKey {
                throw CLIError("a secret is sealed under a key that is not configured: keep the old key listed until the reseal is done")
            }
            print("\\(changed) webhook secrets resealed")
        }
    }
}
