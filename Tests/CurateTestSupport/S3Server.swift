import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway S3-compatible server for the tests: `moto_server` from `Tests/.venv` (installed by
/// scripts/install-system-deps), on a free loopback port, started on first use and killed when the test process
/// exits. Request signing is enforced: moto is started with `INITIAL_NO_AUTH_ACTION_COUNT=3`, and those three
/// requests (scripts/moto-setup.py) create an IAM user, its S3 policy and its access key; every later request must
/// carry a valid SigV4 signature made with that key.
package enum S3Server {
    package struct Server: Sendable {
        package var port: Int
        package var accessKeyID: String
        package var secretAccessKey: String
        package var endpoint: String { "http://127.0.0.1:\(port)" }

        /// The environment a `curate` process needs to reach it (credentials and region; the endpoint is per remote).
        package var environment: [String: String] {
            ["AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secretAccessKey, "AWS_REGION": "us-east-1",
             "AWS_PROFILE": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"]
        }
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// The server, started once per test process.
    package static let shared: Result<Server, Failure> = start()

    /// A bucket name not used before in this process.
    package static func newBucketName() -> String { "curate-" + UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: "") }

    static func start() -> Result<Server, Failure> {
        let venv = TestFixtures.packageRoot.path + "/Tests/.venv/bin"
        guard FileManager.default.isExecutableFile(atPath: venv + "/moto_server") else {
            return .failure(Failure(description: "moto_server is not installed (\(venv)/moto_server): run scripts/install-system-deps"))
        }
        let port = PostgresServer.freePort()
        let log = NSTemporaryDirectory() + "curate-moto-\(port).log"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: venv + "/moto_server")
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(Failure(description: "cannot start moto_server: \(error)")) }
        let pid = process.processIdentifier
        cleanupLock.lock()
        if cleanup.isEmpty {
            atexit {
                S3Server.cleanupLock.lock()
                for pid in S3Server.cleanup { kill(pid, SIGKILL) }
                S3Server.cleanupLock.unlock()
            }
        }
        cleanup.append(pid)
        cleanupLock.unlock()
        // Wait until it answers.
        var up = false
        for _ in 0..<300 {
            if system("python3 -c \"import socket; socket.create_connection(('127.0.0.1', \(port)), 0.2)\" 2>/dev/null") == 0 { up = true; break }
            usleep(100_000)
        }
        guard up else { return .failure(Failure(description: "moto_server did not start on port \(port): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")) }
        let output = NSTemporaryDirectory() + "curate-moto-setup-\(port).out"
        defer { unlink(output) }
        let status = system("'\(venv)/python' '\(TestFixtures.packageRoot.path)/scripts/moto-setup.py' \(port) > '\(output)' 2>&1")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard status == 0, parts.count == 2 else { return .failure(Failure(description: "moto set-up failed: \(text)")) }
        return .success(Server(port: port, accessKeyID: String(parts[0]), secretAccessKey: String(parts[1])))
    }

    nonisolated(unsafe) static var cleanup: [Int32] = []
    static let cleanupLock = NSLock()
}
