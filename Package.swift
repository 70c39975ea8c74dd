// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),  // `public import` marks real API deps
    // House rule: Vireo's own targets build without warnings (dependencies are not held to it).
    .unsafeFlags(["-warnings-as-errors"]),
]

let package = Package(
    name: "vireo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vireod", targets: ["vireod"]),
        .executable(name: "vireo", targets: ["vireo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "VireoCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "VireoHost",
            dependencies: [
                "VireoCore",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoStorage",
            dependencies: ["VireoCore", "VireoHost", "VireoStore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(name: "VireoTestSupport", dependencies: ["VireoHost", "VireoCore"], swiftSettings: strict),
        .target(name: "QMP", exclude: ["README.md"], swiftSettings: strict),
        // nftables' JSON model: a leaf, like QMP (issue 12's firewall compiles into it).
        .target(name: "NFTables", swiftSettings: strict),
        .target(
            name: "VireoQEMU",
            dependencies: [
                "QMP", "VireoCore", "VireoHost", "VireoStorage", "VireoStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "VireoNetwork", dependencies: ["VireoCore", "VireoHost"], swiftSettings: strict),
        .target(
            name: "VireoFirewall",
            dependencies: [
                "VireoCore", "VireoHost", "VireoStore", "NFTables", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoStore",
            dependencies: [
                "VireoCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoCluster",
            dependencies: [
                "VireoCore", "VireoHost", "VireoStore", .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .target(name: "CProcessControl"),
        .target(
            name: "VireoDiagnose",
            dependencies: [
                "VireoCore", "VireoHost", "VireoStore", "VireoStorage", "VireoQEMU", "VireoFirewall", "VireoAccess",
                "VireoMetrics", "QMP",
            ],
            swiftSettings: strict
        ),
        .systemLibrary(name: "CRRD", pkgConfig: "librrd", providers: [.apt(["librrd-dev"])]),
        .target(
            name: "VireoMetrics",
            dependencies: [
                "VireoCore", "VireoHost", "VireoQEMU", "VireoStorage", "CRRD", "QMP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CSystemAuth",
            linkerSettings: [.linkedLibrary("pam"), .linkedLibrary("crypt")]
        ),
        .target(
            name: "VireoAccess",
            dependencies: [
                "VireoCore", "VireoStore", "CSystemAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoTasks",
            dependencies: ["VireoCore", "VireoStore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "VireoAPI",
            dependencies: [
                "VireoCore", "VireoHost", "VireoStore", "VireoAccess", "VireoTasks", "VireoStorage", "VireoQEMU",
                "VireoNetwork", "VireoFirewall", "VireoMetrics", "VireoDiagnose", "VireoCluster", "NFTables", "QMP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoClient",
            dependencies: [
                "VireoCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoDaemon",
            dependencies: [
                "VireoCore", "VireoHost", "VireoStore", "VireoAccess", "VireoTasks", "VireoStorage", "VireoQEMU",
                "VireoAPI", "VireoNetwork", "VireoFirewall", "VireoMetrics", "VireoDiagnose", "VireoCluster",
                "CProcessControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VireoCommands",
            dependencies: [
                "VireoCore", "VireoClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "vireod", dependencies: ["VireoDaemon"], swiftSettings: strict),
        .executableTarget(name: "vireo", dependencies: ["VireoCommands"], swiftSettings: strict),
        .testTarget(name: "VireoCoreTests", dependencies: ["VireoCore", "VireoTestSupport"], swiftSettings: strict),
        .testTarget(name: "VireoStoreTests", dependencies: ["VireoStore", "VireoCore"], swiftSettings: strict),
        .testTarget(
            name: "VireoStorageTests",
            dependencies: ["VireoStorage", "VireoHost", "VireoCore", "VireoStore", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "QMPTests", dependencies: ["QMP"], swiftSettings: strict),
        .testTarget(
            name: "VireoDiagnoseTests",
            dependencies: ["VireoDiagnose", "VireoCore", "VireoHost", "VireoStore", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VireoMetricsTests",
            dependencies: ["VireoMetrics", "VireoCore", "VireoHost", "QMP", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables"], swiftSettings: strict),
        .testTarget(
            name: "VireoFirewallTests",
            dependencies: ["VireoFirewall", "NFTables", "VireoCore"],
            swiftSettings: strict
        ),
        // Tests that drive real QEMU processes and kernel objects (run after the unit tests).
        .testTarget(name: "IntegrationTests", dependencies: ["QMP"], swiftSettings: strict),
        .testTarget(
            name: "VireoNetworkTests",
            dependencies: ["VireoNetwork", "VireoCore", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VireoQEMUTests",
            dependencies: ["VireoQEMU", "VireoCore", "VireoHost", "QMP", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VireoHostTests",
            dependencies: ["VireoHost", "VireoCore", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VireoTasksTests",
            dependencies: ["VireoTasks", "VireoCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VireoAccessTests",
            dependencies: ["VireoAccess", "VireoCore", "VireoStore", "VireoTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VireoAPITests",
            dependencies: [
                "VireoAPI", "VireoAccess", "VireoCore", "VireoStore", "VireoTasks", "VireoStorage", "VireoHost",
                "VireoQEMU",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ]
)
