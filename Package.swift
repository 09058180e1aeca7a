// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "emoe-pack",
  // Mutex (the Synchronization module) needs macOS 15; Linux has no floor to declare.
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "emoe-pack", targets: ["emoe-pack"]),
    .library(name: "EMoEPackCommands", targets: ["EMoEPackCommands"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
  ],
  targets: [
    // C libraries: one system-library shim each, wrapped once in Swift.
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
    .systemLibrary(
      name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"]), .brew(["json-c"])]),

    // Libraries, lowest layer first.
    .target(
      name: "EMoECore",
      dependencies: ["CJSONC", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "EMoEFormats", dependencies: ["EMoECore", "CZstd"]),
    .target(
      name: "EMoENumerics",
      dependencies: [
        "EMoECore", "COpenBLAS", .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),
    .target(name: "EMoEModel", dependencies: ["EMoECore", "EMoEFormats", "EMoENumerics"]),
    .target(name: "EMoETokenizers", dependencies: ["EMoECore", "EMoEFormats"]),
    .target(
      name: "EMoEConvert",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoERunner", "EMoETokenizers",
      ]),
    .target(
      name: "EMoERunner",
      dependencies: ["EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel"]),
    .target(
      name: "EMoEVerify",
      dependencies: ["EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoERunner"]),
    .target(
      name: "EMoEEvaluate",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoEModel", "EMoEConvert", "EMoERunner", "EMoEVerify",
        "EMoETokenizers",
        .product(name: "RealModule", package: "swift-numerics"),
      ]),
    .target(
      name: "EMoECalibrate",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoEModel", "EMoEConvert", "EMoERunner", "EMoEVerify",
        "EMoETokenizers", "EMoEEvaluate",
      ]),
    .target(
      name: "EMoEBatch",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoEConvert", "EMoEVerify",
        "EMoECalibrate",
      ]),
    .target(
      name: "EMoEPackCommands",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoEConvert", "EMoEVerify",
        "EMoEBatch", "EMoEEvaluate", "EMoECalibrate",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .executableTarget(name: "emoe-pack", dependencies: ["EMoEPackCommands"]),
    .executableTarget(
      name: "emoe-bench",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoEConvert", "EMoERunner",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // Tests.
    .target(name: "EMoETestSupport", dependencies: ["EMoECore"], path: "Tests/EMoETestSupport"),
    .testTarget(name: "EMoECoreTests", dependencies: ["EMoECore", "EMoETestSupport"]),
    .testTarget(
      name: "EMoEFormatsTests",
      dependencies: ["EMoECore", "EMoEFormats", "EMoENumerics", "EMoETestSupport"]),
    .testTarget(
      name: "EMoENumericsTests", dependencies: ["EMoECore", "EMoENumerics", "EMoETestSupport"]),
    .testTarget(
      name: "EMoEModelTests",
      dependencies: ["EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoETestSupport"]),
    .testTarget(
      name: "EMoETokenizersTests",
      dependencies: ["EMoETokenizers", "EMoEFormats", "EMoECore", "EMoETestSupport"]),
    .testTarget(
      name: "EMoEEvaluateTests",
      dependencies: [
        "EMoEEvaluate", "EMoEConvert", "EMoERunner", "EMoEFormats", "EMoECore", "EMoETestSupport",
      ]),
    .testTarget(
      name: "EMoEConvertTests",
      dependencies: [
        "EMoECore", "EMoEFormats", "EMoENumerics", "EMoEModel", "EMoEConvert", "EMoETestSupport",
      ]),
    .testTarget(
      name: "EMoERunnerTests",
      dependencies: [
        "EMoERunner", "EMoEModel", "EMoEFormats", "EMoENumerics", "EMoECore", "EMoETestSupport",
      ]),
    .testTarget(
      name: "EMoEVerifyTests",
      dependencies: [
        "EMoEVerify", "EMoERunner", "EMoEModel", "EMoEFormats", "EMoENumerics", "EMoECore",
        "EMoETestSupport",
      ]),
    .testTarget(
      name: "EMoEBatchTests",
      dependencies: [
        "EMoEBatch", "EMoEConvert", "EMoEFormats", "EMoECore", "EMoETestSupport", "emoe-pack",
      ]),
    .testTarget(
      name: "EMoEPackCommandsTests",
      dependencies: [
        "EMoEPackCommands", "emoe-pack", "emoe-bench", "EMoEConvert", "EMoEFormats", "EMoECore",
        "EMoEVerify", "EMoETokenizers",
        "EMoETestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
  ]
)
