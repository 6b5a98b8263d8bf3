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
    ],
    targets: [
        // C libraries: module map + shim header only (apt providers named).
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        .target(name: "ServiceLog"),
        .target(name: "Crypto", dependencies: ["COpenSSL"]),
        .target(name: "FastCGI", dependencies: ["CFastCGI", "ServiceLog"]),
        .target(name: "Postgres", dependencies: ["CPostgres", "ServiceLog"]),
        .target(name: "Mail", dependencies: ["CCurl"]),
        .target(name: "ControlPlane", dependencies: ["FastCGI", "Postgres", "Crypto", "ServiceLog"]),

        .executableTarget(name: "controlplaned", dependencies: ["ControlPlane", "FastCGI", "Postgres", "ServiceLog"]),
        .executableTarget(name: "controlplane-sync", dependencies: [
            "ControlPlane", "Postgres", "Crypto", "Mail",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // In-process micro-benchmarks that `make bench` runs (no I/O).
        .executableTarget(name: "controlplane-bench", dependencies: ["ControlPlane"]),
        .executableTarget(name: "cpctl", dependencies: [
            "ControlPlane", "Postgres", "Crypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TestSupport", dependencies: ["Postgres"], path: "Tests/TestSupport"),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "ServiceLogTests", dependencies: ["ServiceLog"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "ControlPlaneTests", dependencies: ["ControlPlane", "FastCGI", "Postgres", "TestSupport"]),
    ]
)
