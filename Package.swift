// swift-tools-version: 6.1
import PackageDescription

/// Vakt: one multi-call binary (`vakt`) built from a shared service library.
///
/// Layering (a module imports only modules listed above it):
///   C shims       CHiredis, CSystemd, CPosix
///   shared        Money, VaktConfig, SystemdNotify, RedisClient, EventBus, Binance, PaperExchange, PrometheusText, PolicyStore,
///                 EmergencyStop, ServiceKit, HealthMesh, Alerting
///   services      Gateway, AIEngine, Execution, Risk, Portfolio, Training,
///                 MarketData, Dashboard, ExchangeSimulator, Supervisor
///   executable    vakt
/// Services never import each other; they talk over the event bus and HTTP.

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let serviceDependencies: [Target.Dependency] = [
    "ServiceKit",
    "VaktConfig",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "Logging", package: "swift-log"),
]

func service(_ name: String, extra: [Target.Dependency] = [], resources: [Resource]? = nil) -> Target {
    .target(name: name, dependencies: serviceDependencies + extra, resources: resources, swiftSettings: swiftSettings)
}

let package = Package(
    name: "vakt",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vakt", targets: ["vakt"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // Hummingbird's HTTP types, named directly where a service sets headers of its own.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM drops with a warning
        // on every build; the header and library are in the default search paths anyway.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "VaktConfig",
            dependencies: ["Money", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Exact amounts: no dependencies, so every layer may use it.
        .target(name: "Money", swiftSettings: swiftSettings),
        // The health response format: Foundation only, so that the mesh rules need no runtime.
        .target(name: "HealthFormat", swiftSettings: swiftSettings),
        .target(
            name: "Binance",
            dependencies: ["EventBus", "Money", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // The paper exchange's market, pure: books, matching, fees, balances, a seeded price path.
        .target(name: "PaperExchange", dependencies: ["Binance", "EventBus", "Money"], swiftSettings: swiftSettings),
        // Features, the four direction models, the ensemble, regimes and the sizing bandit: pure,
        // shared by the AI engine (live) and training.
        .target(name: "Forecasting", swiftSettings: swiftSettings),
        // The Binance Spot REST client every trading service shares.
        .target(
            name: "BinanceAdapter",
            dependencies: [
                "Binance", "EventBus", "Money", "RedisClient", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings),
        // The second venue: OKX's public REST market data, for market data's fallback.
        .target(
            name: "OKXAdapter",
            dependencies: [
                "EventBus", "Money", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(name: "CPosix"),
        .target(
            name: "SystemdNotify",
            dependencies: ["CSystemd", "CPosix", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RedisClient",
            dependencies: ["CHiredis"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EventBus",
            dependencies: [
                "RedisClient", "VaktConfig", "Money", "HealthFormat",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PrometheusText", dependencies: [.product(name: "Prometheus", package: "swift-prometheus")], swiftSettings: swiftSettings),
        .target(
            name: "PolicyStore",
            dependencies: [
                "EventBus", "RedisClient", "VaktConfig", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "EmergencyStop",
            dependencies: ["EventBus", "PolicyStore", "RedisClient", "VaktConfig", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "ServiceKit",
            dependencies: [
                "VaktConfig",
                "EmergencyStop",
                "Money",
                "HealthFormat", "PrometheusText",
                "EventBus",
                "PolicyStore",
                "SystemdNotify",
                "RedisClient",
                "Binance", "BinanceAdapter", "Forecasting", "OKXAdapter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "HealthMesh", dependencies: ["EventBus", "HealthFormat", "VaktConfig"], swiftSettings: swiftSettings),
        // The loss report: our records checked against the exchange's (a pure check, and the
        // collector that reads both sides).
        .target(
            name: "TradingAudit",
            dependencies: ["Binance", "BinanceAdapter", "EmergencyStop", "EventBus", "Money", "OKXAdapter", "ServiceKit"],
            swiftSettings: swiftSettings),
        .target(
            name: "Alerting",
            dependencies: [
                "EventBus", "PrometheusText", "VaktConfig",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        service(
            "Gateway",
            extra: [
                "EventBus", "HealthFormat", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        service(
            "AIEngine",
            extra: [
                "Forecasting", "EventBus", "HealthFormat", "Money", "Binance", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        service(
            "Execution",
            extra: [
                "Binance", "BinanceAdapter", "EventBus", "EmergencyStop", "PolicyStore", "HealthFormat", "Money", "OKXAdapter",
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Crypto", package: "swift-crypto"),
            ]),
        service(
            "Risk",
            extra: [
                "EmergencyStop", "PolicyStore", "EventBus", "RedisClient", "Money", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        service(
            "Portfolio",
            extra: [
                "Binance", "BinanceAdapter", "EventBus", "HealthFormat", "Money", "OKXAdapter",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        service(
            "Training",
            extra: [
                "Forecasting", "EventBus", "Binance", .product(name: "Metrics", package: "swift-metrics"),
            ]),
        service(
            "MarketData",
            extra: [
                "Binance", "BinanceAdapter", "OKXAdapter", "EventBus", "HealthFormat", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        service(
            "Dashboard", extra: ["HealthFormat", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            resources: [.copy("Public")]),
        service(
            "ExchangeSimulator",
            extra: [
                "Binance", "EventBus", "Money", "OKXAdapter", "PaperExchange", .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]),
        service(
            "Supervisor",
            extra: [
                "SystemdNotify", "CPosix", "PrometheusText", "EventBus", "RedisClient", "HealthMesh", "Alerting", "EmergencyStop",
                "HealthFormat",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        .executableTarget(
            name: "vakt",
            dependencies: [
                "VaktConfig", "ServiceKit",
                "Gateway", "AIEngine", "Execution", "Risk", "Portfolio", "Training",
                "MarketData", "Dashboard", "ExchangeSimulator", "Supervisor", "EventBus", "RedisClient", "TradingAudit",
                "Binance", "BinanceAdapter", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A misbehaving-on-demand child for the supervisor's tests; built, never shipped.
        .executableTarget(
            name: "VaktTestChild",
            dependencies: [
                "CSystemd", "EventBus", "RedisClient", "VaktConfig", "Binance", "BinanceAdapter",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "EventBusBench",
            dependencies: ["EventBus", "RedisClient", "VaktConfig", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/EventBusBench",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "MetricsBench",
            dependencies: ["PrometheusText", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Benchmarks/MetricsBench", exclude: ["parse_python.py"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "MeshBench", dependencies: ["VaktTesting"], path: "Benchmarks/MeshBench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "ESSBench",
            dependencies: [
                "EventBus", "PolicyStore", "RedisClient", "VaktConfig", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ESSBench",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "ExchangeBench",
            dependencies: [
                "Binance", "BinanceAdapter", "EventBus", "Money", "PaperExchange", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ExchangeBench", exclude: ["bench_ccxt_sign.py"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ForecastBench", dependencies: ["Forecasting", "VaktTesting"], path: "Benchmarks/ForecastBench",
            exclude: ["bench_sklearn.py"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ExecutionBench",
            dependencies: [
                "Execution", "Binance", "EmergencyStop", "EventBus", "Money", "PolicyStore", "ServiceKit", "VaktConfig",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ExecutionBench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "GatewayBench",
            dependencies: [
                "VaktTesting", "VaktConfig", "EventBus", "Money", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/GatewayBench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "PortfolioBench", dependencies: ["Portfolio", "Money", "VaktTesting"], path: "Benchmarks/PortfolioBench",
            exclude: ["bench_ledger_decimal.py"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "MoneyBench", dependencies: ["Money"], path: "Benchmarks/MoneyBench", exclude: ["bench_decimal.py"],
            swiftSettings: swiftSettings),
        .target(
            name: "VaktTesting",
            dependencies: [
                "VaktConfig", "SystemdNotify", "RedisClient", "EventBus", "PrometheusText", "ServiceKit", "PolicyStore", "Binance",
                "BinanceAdapter", "Money", "OKXAdapter", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "VaktTesting", "EventBus", "Money", "ServiceKit", "VaktConfig", "RedisClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Python"],
            swiftSettings: swiftSettings),
        .testTarget(name: "VaktConfigTests", dependencies: ["VaktConfig", "Money"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MoneyTests", dependencies: ["Money", "VaktTesting"], exclude: ["decimal_reference.py"], swiftSettings: swiftSettings),
        .testTarget(name: "SystemdNotifyTests", dependencies: ["SystemdNotify", "VaktTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "VaktTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "ServiceKit", "VaktTesting", "EventBus", "RedisClient", "VaktConfig", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "PostgresNIO", package: "postgres-nio"),
                "EmergencyStop", "Money", "PolicyStore", "HealthFormat", "Binance", "BinanceAdapter",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EventBusTests",
            dependencies: [
                "EventBus", "EmergencyStop", "PolicyStore", "VaktTesting", "RedisClient", "VaktConfig",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "BinanceTests", dependencies: ["Binance", "EventBus", "Money"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BinanceAdapterTests", dependencies: ["BinanceAdapter", "Binance", "EventBus", "Money"], swiftSettings: swiftSettings),
        .testTarget(name: "OKXAdapterTests", dependencies: ["OKXAdapter", "EventBus", "Money"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PaperExchangeTests", dependencies: ["PaperExchange", "Binance", "EventBus", "Money"], swiftSettings: swiftSettings),
        .testTarget(name: "PrometheusTextTests", dependencies: ["PrometheusText", "VaktTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RiskTests",
            dependencies: [
                "EmergencyStop", "PolicyStore", "EventBus", "RedisClient", "ServiceKit", "VaktConfig", "VaktTesting", "PrometheusText",
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "HealthMeshTests", dependencies: ["HealthMesh", "HealthFormat", "VaktConfig"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AlertingTests",
            dependencies: [
                "Alerting", "VaktConfig", "VaktTesting", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "DeploymentTests", dependencies: ["VaktTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TradingAuditTests", dependencies: ["TradingAudit", "Binance", "EmergencyStop", "EventBus", "Money", "Portfolio"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SupervisorTests",
            dependencies: [
                "Supervisor", "HealthMesh", "VaktConfig", "VaktTesting", "EventBus", "ServiceKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ExecutionTests",
            dependencies: ["Execution", "Binance", "EmergencyStop", "EventBus", "Money", "PolicyStore", "VaktConfig", "VaktTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PortfolioTests", dependencies: ["Portfolio", "Binance", "EventBus", "Money", "VaktTesting"],
            exclude: ["ledger_reference.py"],
            swiftSettings: swiftSettings),
        .testTarget(name: "ForecastingTests", dependencies: ["Forecasting", "VaktTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainingTests", dependencies: ["Training"], swiftSettings: swiftSettings),
        .testTarget(name: "AIEngineTests", dependencies: ["AIEngine", "Forecasting", "VaktTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MarketDataTests",
            dependencies: [
                "MarketData", "Binance", "EventBus", "Money", "RedisClient", "VaktConfig", "VaktTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServiceProcessTests",
            dependencies: [
                "EmergencyStop", "TradingAudit", "HealthFormat", "VaktTesting", "VaktConfig", "ServiceKit", "SystemdNotify",
                "PrometheusText", "EventBus",
                "RedisClient", "Binance", "BinanceAdapter", "Money", "OKXAdapter", .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Python"],
            swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
