import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for the tests (Debian's `postgresql` package, installed by
/// scripts/install-system-deps): `initdb` and `pg_ctl` in a temporary folder, on a free loopback port, started on
/// first use and stopped when the test process exits. Each test gets its own database from `newDatabase()`.
package enum PostgresServer {
    package struct Cluster: Sendable {
        package var port: Int
        package var data: String
        package var bin: String
        var root = ""

        var options: String { "-p \(port) -k \(root) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" }

        /// Stops the server (fast: connections are cut) and starts it again on the same port: a restart as an
        /// operator or a crash-and-recover would do it.
        package func stop() throws {
            let r = try run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
            guard r.status == 0 else { throw Failure(description: "pg_ctl stop failed: \(r.output)") }
        }

        package func start() throws {
            let r = try run("pg_ctl", ["-D", data, "-o", options, "-l", root + "/pg.log", "-w", "-t", "60", "start"])
            guard r.status == 0 else { throw Failure(description: "pg_ctl start failed: \(r.output)") }
        }

        /// A new, empty database; its URL.
        package func newDatabase() throws -> String {
            let name = "curate_test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
            let made = try run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name])
            guard made.status == 0 else { throw Failure(description: "createdb failed: \(made.output)") }
            return "postgres://postgres@127.0.0.1:\(port)/\(name)?sslmode=disable"
        }
        /// Runs a server binary (as the `postgres` user when the tests run as root: initdb refuses root), through
        /// `system`: pg_ctl leaves a daemon behind, which Foundation's Process does not always notice finishing.
        func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
            let quote = { (s: String) in "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            let file = NSTemporaryDirectory() + "curate-pg-\(tool)-\(UUID().uuidString.prefix(8)).out"
            defer { unlink(file) }
            let command = (getuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : "") + ([bin + "/" + tool] + arguments).map(quote).joined(separator: " ")
            let status = system(command + " > " + quote(file) + " 2>&1 < /dev/null")
            return (status, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
        }
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// The cluster, started once per test process.
    package static let cluster: Result<Cluster, Failure> = start()

    /// A cluster of its own, for a test that stops and restarts its server (stopped when the process exits).
    package static func privateCluster() throws -> Cluster { try start().get() }

    nonisolated(unsafe) static var cleanup: [String] = []
    static let cleanupLock = NSLock()

    static func start() -> Result<Cluster, Failure> {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last else {
            return .failure(Failure(description: "PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run scripts/install-system-deps"))
        }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let root = NSTemporaryDirectory() + "curate-pg-\(getpid())-\(UUID().uuidString.prefix(6))"
        let data = root + "/data"
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            if getuid() == 0 {
                let chown = Process()
                chown.executableURL = URL(fileURLWithPath: "/bin/chown")
                chown.arguments = ["-R", "postgres:postgres", root]
                try chown.run()
                chown.waitUntilExit()
            }
            let port = freePort()
            let cluster = Cluster(port: port, data: data, bin: bin, root: root)
            let initdb = try cluster.run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            guard initdb.status == 0 else { return .failure(Failure(description: "initdb failed: \(initdb.output)")) }
            let started = try cluster.run("pg_ctl", ["-D", data, "-o", cluster.options, "-l", root + "/pg.log", "-w", "-t", "60", "start"])
            guard started.status == 0 else {
                let log = (try? String(contentsOfFile: root + "/pg.log", encoding: .utf8)) ?? ""
                return .failure(Failure(description: "pg_ctl start failed: \(started.output) \(log)"))
            }
            let stop = ((getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []) + [bin + "/pg_ctl", "-D", data, "-m", "immediate", "stop"])
                .map { "'" + $0 + "'" }.joined(separator: " ") + " > /dev/null 2>&1; rm -rf '" + root + "'"
            cleanupLock.lock()
            if cleanup.isEmpty {
                atexit {
                    PostgresServer.cleanupLock.lock()
                    for command in PostgresServer.cleanup { _ = system(command) }
                    PostgresServer.cleanupLock.unlock()
                }
            }
            cleanup.append(stop)
            cleanupLock.unlock()
            return .success(cluster)
        } catch {
            return .failure(Failure(description: "cannot start PostgreSQL: \(error)"))
        }
    }

    /// A port nothing listens on now.
    package static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A new, empty database on the cluster; its URL (`postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable`).
    package static func newDatabase() throws -> String { try cluster.get().newDatabase() }

    /// Runs SQL as the superuser on a database (for tests that kill backends or make roles); its output.
    @discardableResult
    package static func psql(_ sql: String, database: String = "postgres", user: String = "postgres") throws -> String {
        let cluster = try cluster.get()
        let file = NSTemporaryDirectory() + "curate-psql-\(UUID().uuidString.prefix(8)).out"
        defer { unlink(file) }
        let quote = { (s: String) in "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let status = system("/usr/bin/psql -h 127.0.0.1 -p \(cluster.port) -U \(quote(user)) -d \(quote(database)) -v ON_ERROR_STOP=1 -At -c \(quote(sql)) > \(quote(file)) 2>&1 < /dev/null")
        let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Failure(description: "psql failed: \(output)") }
        return output
    }
}
