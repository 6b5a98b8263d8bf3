import ArgumentParser
import ControlPlaneCore
import OpenSSLCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "PREFLIGHT_JWT signing keys (Ed25519).",
        discussion: """
            The private key is the sync's (CONTROLPLANE_JWT_KEY_FILES); controlplaned gets the public key \
            written beside it (CONTROLPLANE_JWT_PUBLIC_KEY_FILES) and publishes it in the JWKS. Rotation: \
            generate the next key, add its public file to controlplaned's list (published, not yet signing), \
            wait for registries to refresh, then put its private file first in the sync's list.
            """,
        subcommands: [Generate.self, Show.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 private key (PEM, mode 0600) and its public key beside it (NAME.pub.pem); print its kid and JWK.")
        @Option(help: "Where to write the private PEM file (must not exist).") var out: String

        func run() throws {
            let key = SigningKey(key: try Ed25519Key.generate())
            let publicPath = (out.hasSuffix(".pem") ? String(out.dropLast(4)) : out) + ".pub.pem"
            try Self.create(out, contents: try key.key.privateKeyPEM(), mode: 0o600)
            do {
                try Self.create(publicPath, contents: try key.key.publicKeyPEM(), mode: 0o644)
            } catch {
                unlink(out)
                throw error
            }
            Swift.print(String(decoding: SigningKey.jwks([key]), as: UTF8.self))
            FileHandle.standardError.write(Data("wrote \(out) (private, kid \(key.kid)) and \(publicPath) (public)\n".utf8))
        }

        /// Creates the file with its final mode from the first byte: O_EXCL refuses an existing
        /// file and O_NOFOLLOW a symlink planted at the path, so a key never lands elsewhere
        /// and never overwrites one.
        static func create(_ path: String, contents: String, mode: mode_t) throws {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            guard descriptor >= 0 else {
                throw CLIError(errno == EEXIST ? "\(path) exists; keys are never overwritten" : "cannot create \(path): \(String(cString: strerror(errno)))",
                               exit: SysExit.cannotCreate)
            }
            defer { close(descriptor) }
            // The umask may have narrowed the mode; set it exactly (before any byte is written).
            guard fchmod(descriptor, mode) == 0 else { throw CLIError("cannot set the mode of \(path)", exit: SysExit.cannotCreate) }
            let bytes = Array(contents.utf8)
            var written = 0
            while written < bytes.count {
                let n = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                guard n > 0 else { unlink(path); throw CLIError("cannot write \(path)", exit: SysExit.cannotCreate) }
                written += n
            }
            guard fsync(descriptor) == 0 else { throw CLIError("cannot flush \(path)", exit: SysExit.cannotCreate) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public JWKS of PEM key files.")
        @Argument(help: "PEM files.") var files: [String]

        func run() throws {
            let keys = try files.map { path -> SigningKey in
                guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path)", exit: SysExit.noInput) }
                return SigningKey(key: try Ed25519Key.fromPEM(pem))
            }
            Swift.print(String(decoding: SigningKey.jwks(keys), as: UTF8.self))
        }
    }
}
