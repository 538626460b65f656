import Foundation

/// Runs the built `curate` executable and captures what it prints.
package struct CLIResult: Sendable {
    package var exitCode: Int32
    package var stdout: String
    package var stderr: String

    package init(exitCode: Int32, stdout: String, stderr: String) {
        (self.exitCode, self.stdout, self.stderr) = (exitCode, stdout, stderr)
    }
}

package enum CLI {
    /// The `curate` binary next to the test bundle (SwiftPM puts products and tests in one folder).
    package static let executable: String = {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("curate").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("curate").path,
            TestFixtures.packageRoot.appendingPathComponent(".build/debug/curate").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[2]
    }()

    /// Starts `curate ARGS` in `directory` without waiting (its output discarded): for tests that kill it midway.
    package static func start(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `curate ARGS` in `directory` (default: the package root), with no standard input.
    package static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? TestFixtures.packageRoot.path)
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "200"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting so a full pipe never blocks the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()  // each written by one block, read after wait()
        DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        group.wait()
        process.waitUntilExit()
        return CLIResult(exitCode: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}
