// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "controlplane",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "controlplaned", targets: ["controlplaned"]),
        .executable(name: "controlplane-sync", targets: ["controlplane-sync"]),
        .executable(name: "cpctl", targets: ["cpctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The console's templates: HTML-escaping by default.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The logging API of the Swift server ecosystem; ServiceLog supplies its JSON handler.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries: module map + shim header only (apt providers named).
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CIDN2", pkgConfig: "libidn2", providers: [.apt(["libidn2-dev"])]),

        .target(name: "ServiceLog", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // Named for what it wraps: `Crypto` would collide with swift-crypto's module.
        .target(name: "OpenSSLCrypto", dependencies: ["COpenSSL"]),
        .target(name: "Locking"),
        .target(name: "FastCGI", dependencies: ["CFastCGI", "ServiceLog", "Locking"]),
        .target(name: "Postgres", dependencies: ["CPostgres", "ServiceLog"]),
        // libcurl, wrapped once: SMTP (the sync's emails) and pinned HTTP transfers (webhook deliveries).
        .target(name: "Curl", dependencies: ["CCurl"]),
        // libidn2, wrapped once: UTS 46 / IDNA2008 for the domains of email addresses.
        .target(name: "IDNA", dependencies: ["CIDN2"]),
        // The core: domain types, rules and one store per table. Never imports FastCGI.
        .target(name: "ControlPlaneCore", dependencies: ["Postgres", "OpenSSLCrypto", "ServiceLog", "IDNA", "Locking"]),
        // The HTTP layer on the core: router, request context, problem bodies, handlers.
        .target(name: "ControlPlaneHTTP", dependencies: ["ControlPlaneCore", "FastCGI", "Postgres", "OpenSSLCrypto", "ServiceLog", "Curl", "Locking",
                                                  .product(name: "Mustache", package: "swift-mustache")]),

        .executableTarget(name: "controlplaned", dependencies: ["ControlPlaneHTTP", "ControlPlaneCore", "FastCGI", "Postgres", "ServiceLog"]),
        .executableTarget(name: "controlplane-sync", dependencies: [
            "ControlPlaneCore", "Postgres", "OpenSSLCrypto", "Curl",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // In-process micro-benchmarks that `make bench` runs (no I/O).
        .executableTarget(name: "controlplane-bench", dependencies: ["ControlPlaneCore"]),
        .executableTarget(name: "cpctl", dependencies: [
            "ControlPlaneCore", "Postgres", "OpenSSLCrypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TestSupport", dependencies: ["Postgres"], path: "Tests/TestSupport"),
        .testTarget(name: "OpenSSLCryptoTests", dependencies: ["OpenSSLCrypto"]),
        .testTarget(name: "CurlTests", dependencies: ["Curl"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "ServiceLogTests", dependencies: ["ServiceLog", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "ControlPlaneCoreTests", dependencies: ["ControlPlaneCore", "Postgres", "TestSupport"]),
        .testTarget(name: "ControlPlaneHTTPTests", dependencies: ["ControlPlaneHTTP", "ControlPlaneCore", "FastCGI", "Postgres", "TestSupport"]),
    ]
)
