import ArgumentParser
import Foundation

/// controlplane-sync: one-shot runs that systemd timers start. The subcommands are
/// filled in by the sync issue; until then each says so and exits EX_UNAVAILABLE (69)
/// so a timer run is visibly not doing work.
struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controlplane-sync",
        abstract: "Metered registry sweeps, outbox deliveries and health sweeps (one run per invocation).",
        subcommands: [RegistrySweep.self, Deliver.self, HealthSweep.self])

    struct RegistrySweep: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "registry-sweep", abstract: "Pull job telemetry and nodes from regional registries.")
        @Option(help: "Only this region.") var region: String?
        func run() throws { throw notYetAvailable("registry-sweep") }
    }

    struct Deliver: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver governance commands, webhooks and emails from the outboxes.")
        func run() throws { throw notYetAvailable("deliver") }
    }

    struct HealthSweep: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "health-sweep", abstract: "Mark stale nodes and regions.")
        func run() throws { throw notYetAvailable("health-sweep") }
    }
}

func notYetAvailable(_ name: String) -> ExitCode {
    FileHandle.standardError.write(Data("controlplane-sync \(name): not available in this build\n".utf8))
    return ExitCode(69)
}

Sync.main()
