// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Curate",
    platforms: [.macOS(.v14)],
    // The tool, and the two libraries meant for use outside it: the label data model and formats, and
    // augmentation with labels that follow the pixels. Every other module is Curate's own (`package` access).
    products: [
        .executable(name: "curate", targets: ["curate"]),
        .library(name: "CurateCore", targets: ["CurateCore"]),
        .library(name: "CurateAugment", targets: ["CurateAugment", "CurateImaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CTurboJPEG", pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(
            name: "CChafa", pkgConfig: "chafa",
            providers: [.apt(["libchafa-dev", "libglib2.0-dev"])]),
        // libpng's classic API reports errors with longjmp; this shim keeps
        // that jump inside C so it never crosses a Swift frame.
        .target(name: "CCurateCodecs", dependencies: ["CPNG"]),
        // Pixel kernels compiled for baseline x86-64, AVX2 and AVX-512 in one binary, chosen at run time.
        .target(name: "CCurateKernels"),
        // Dot products for nearest-neighbour search (CurateQuality only, not in a public product's closure, so
        // it may be optimised in debug builds too: tests search 100,000 vectors).
        .target(name: "CCurateSearch", cSettings: [.unsafeFlags(["-O2"])]),

        .target(
            name: "CurateCore",
            dependencies: [.product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "CurateImaging",
            dependencies: ["CurateCore", "CCurateCodecs", "CTurboJPEG"]),
        .target(
            name: "CurateVersioning",
            dependencies: [
                "CurateCore", "CurateImaging",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            exclude: ["FORMAT.md"]),
        .target(
            name: "CurateStore",
            dependencies: [
                "CurateCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Remotes: where a repository's packs and refs travel (an S3-compatible bucket or a shared folder).
        .target(
            name: "CurateRemote",
            dependencies: [
                "CurateCore", "CurateVersioning",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .target(
            name: "CurateQuality",
            dependencies: ["CurateCore", "CurateImaging", "CCurateSearch", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "CurateSelection",
            dependencies: ["CurateCore", "CurateImaging", "CurateQuality"]),
        .target(
            name: "CurateTerminal",
            dependencies: ["CurateCore", "CurateImaging", "CurateStore", "CChafa"]),
        .target(
            name: "CurateRouting",
            dependencies: [
                "CurateCore", "CurateImaging", "CurateQuality", "CurateSelection", "CurateStore", "CurateVersioning",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "CurateLabeling",
            dependencies: ["CurateCore", "CurateImaging", "CurateVersioning", "CurateStore", "CurateTerminal", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "CurateWorkflows",
            dependencies: ["CurateCore", "CurateVersioning", "CurateStore", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "CurateAugment",
            dependencies: [
                "CurateCore", "CurateImaging", "CurateVersioning", "CCurateKernels",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "CurateCommands",
            dependencies: [
                "CurateCore", "CurateImaging", "CurateVersioning", "CurateStore", "CurateAugment", "CurateQuality", "CurateSelection",
                "CurateTerminal", "CurateRouting", "CurateLabeling", "CurateWorkflows", "CurateRemote",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "curate", dependencies: ["CurateCommands"]),
        // Throughput measurements for benchmarks/*/run.sh: built on demand (swift build --product curate-bench),
        // never part of the curate product.
        .executableTarget(
            name: "curate-bench",
            dependencies: [
                "CurateCommands", "CurateCore", "CurateImaging", "CurateVersioning", "CurateAugment", "CurateQuality",
                "CurateSelection", "CurateRouting", "CurateTerminal", "CurateStore", "CurateLabeling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .target(
            name: "CurateTestSupport",
            dependencies: ["CurateCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/CurateTestSupport"),
        .testTarget(
            name: "CurateCoreTests",
            dependencies: ["CurateCore", "CurateTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateImagingTests",
            dependencies: ["CurateImaging", "CurateTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateVersioningTests",
            dependencies: [
                "CurateVersioning", "CurateTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateStoreTests",
            dependencies: ["CurateStore", "CurateTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "CurateAugmentTests",
            dependencies: ["CurateAugment", "CurateTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateTerminalTests",
            dependencies: ["CurateTerminal", "CurateImaging", "CurateStore", "CurateTestSupport"]),
        .testTarget(
            name: "CurateSelectionTests",
            dependencies: ["CurateSelection", "CurateQuality", "CurateImaging", "CurateTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateRemoteTests",
            dependencies: ["CurateRemote", "CurateVersioning", "CurateTestSupport"]),
        .testTarget(
            name: "CurateQualityTests",
            dependencies: ["CurateQuality", "CCurateSearch", "CurateTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateRoutingTests",
            dependencies: ["CurateRouting", "CurateSelection", "CurateImaging", "CurateTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "CurateLabelingTests",
            dependencies: ["CurateLabeling", "CurateStore", "CurateCore", "CurateTestSupport"]),
        .testTarget(
            name: "CurateWorkflowsTests",
            dependencies: ["CurateWorkflows", "CurateVersioning", "CurateStore", "CurateTestSupport"]),
        .testTarget(
            name: "CurateCommandsTests",
            dependencies: ["CurateCommands", "curate", "CurateVersioning", "CurateStore", "CurateImaging", "CurateRemote", "CurateLabeling", "CurateCore", "CurateTestSupport",
                           .product(name: "Yams", package: "Yams")]),
    ],
    swiftLanguageModes: [.v6]
)
