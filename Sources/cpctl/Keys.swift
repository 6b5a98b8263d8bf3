import ArgumentParser
import ControlPlaneCore
import OpenSSLCrypto
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "PREFLIGHT_JWT signing keys (Ed25519).",
        discussion: """
            Rotation: generate the next key, list it after the current one in CONTROLPLANE_JWT_KEY_FILES (it is \
            published in the JWKS but does not sign), wait for registries to refresh, then put it first.
            """,
        subcommands: [Generate.self, Show.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new Ed25519 private key as PEM (mode 0600) and print its kid and JWK.")
        @Option(help: "Where to write the PEM file (must not exist).") var out: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: out) else { throw CLIError("\(out) exists; keys are never overwritten") }
            let key = SigningKey(key: try Ed25519Key.generate())
            let pem = try key.key.privateKeyPEM()
            guard FileManager.default.createFile(atPath: out, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CLIError("cannot write \(out)")
            }
            Swift.print(String(decoding: SigningKey.jwks([key]), as: UTF8.self))
            FileHandle.standardError.write(Data("wrote \(out) (kid \(key.kid))\n".utf8))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public JWKS of PEM key files.")
        @Argument(help: "PEM files.") var files: [String]

        func run() throws {
            let keys = try files.map { path -> SigningKey in
                guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path)") }
                return SigningKey(key: try Ed25519Key.fromPEM(pem))
            }
            Swift.print(String(decoding: SigningKey.jwks(keys), as: UTF8.self))
        }
    }
}
