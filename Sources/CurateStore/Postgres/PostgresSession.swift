import Foundation
import PostgresNIO

/// A value bound to a `$n` parameter.
enum PGValue: Sendable {
    case text(String?)
    case int(Int?)
    case double(Double?)
    case texts([String])
    case bool(Bool)
}

/// One PostgreSQL connection, used one transaction at a time, reconnected when the server restarts or the
/// connection is killed: a transaction that failed because the connection was lost is retried on a new one (with
/// backoff), so a session survives a restart; what was committed is never applied twice (see `storeAnswer`).
final class PostgresSession: @unchecked Sendable {   // the connection is only touched under `lock`
    let location: PostgresLocation
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private let logger: Logger
    /// Called before each retry after a lost connection ("reconnecting…" on a session's status line).
    private var onReconnect: @Sendable (Int) -> Void

    init(_ location: PostgresLocation, onReconnect: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.location = location
        var logger = Logger(label: "curate.store")
        logger.logLevel = .critical
        self.logger = logger
        self.onReconnect = onReconnect
    }

    deinit { try? connection?.close().wait() }

    /// Queues named by `NOTIFY curate_items` since they were last taken (new items, an undone answer).
    let notified = Notified()
    private var watching = false

    /// Listens for `curate_items` notifications on this connection, and on every one after a reconnect.
    func watch() {
        lock.lock()
        defer { lock.unlock() }
        guard !watching else { return }
        watching = true
        if let connection, !connection.isClosed { listen(connection) }
    }

    private func listen(_ connection: PostgresConnection) {
        let notified = self.notified
        _ = connection.addListener(channel: "curate_items") { _, notification in notified.add(notification.payload) }
    }

    /// Replaces what is called before each retry after a lost connection.
    func setOnReconnect(_ handler: @escaping @Sendable (Int) -> Void) {
        lock.lock()
        onReconnect = handler
        lock.unlock()
    }

    /// A connection to the server, made on first use.
    private func current() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        let tls: PostgresConnection.Configuration.TLS
        switch location.sslMode {
        case .disable, .allow, .prefer: tls = .disable
        case .require, .verifyCA, .verifyFull:
            var config = TLSConfiguration.makeClientConfiguration()
            if location.sslMode == .require { config.certificateVerification = .none }
            if location.sslMode == .verifyCA { config.certificateVerification = .noHostnameVerification }
            tls = .require(try NIOSSLContext(configuration: config))
        }
        var configuration: PostgresConnection.Configuration
        if location.host.hasPrefix("/") {
            configuration = .init(unixSocketPath: location.host + "/.s.PGSQL.\(location.port)", username: location.user, password: location.password, database: location.database)
        } else {
            configuration = .init(host: location.host, port: location.port, username: location.user, password: location.password, database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        let made = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger).wait()
        connection = made
        if watching {
            listen(made)
            notified.addAll()   // what was said while no one listened
        }
        return made
    }

    /// Runs `body`'s single statement on its own (autocommit: one round trip), retried like a transaction.
    func statement<T>(_ what: String, _ body: (PostgresTransaction) throws -> T) throws(StoreError) -> T {
        try transaction(what, atomic: false, body)
    }

    /// Runs `body` in one transaction (`READ COMMITTED`); retried on a new connection when the old one was lost
    /// or the server asks for a retry (serialization failure, deadlock).
    func transaction<T>(_ what: String, atomic: Bool = true, _ body: (PostgresTransaction) throws -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        var attempt = 0
        while true {
            do {
                let connection = try current()
                let tx = PostgresTransaction(connection: connection, logger: logger)
                guard atomic else { return try body(tx) }
                // BEGIN goes out without waiting for its reply: the body's first statement follows it on the wire.
                let begun = connection.query(PostgresTransaction.query("BEGIN", []), logger: logger)
                do {
                    let result = try body(tx)
                    _ = try PostgresTransaction.result(of: begun, connection)   // long since answered
                    _ = try tx.execute("COMMIT")
                    return result
                } catch {
                    if !connection.isClosed { _ = try? tx.execute("ROLLBACK") }
                    throw error
                }
            } catch let error as StoreError {
                throw error
            } catch {
                let transient = Self.isTransient(error)
                if transient.retry, attempt < 8 {
                    attempt += 1
                    if transient.reconnect {
                        try? connection?.close().wait()
                        connection = nil
                        onReconnect(attempt)
                    }
                    usleep(useconds_t(min(2_000_000, 50_000 << min(attempt, 6))))
                    continue
                }
                throw Self.storeError(error, location: location, what)
            }
        }
    }

    /// Whether a failure is worth retrying, and on a new connection.
    static func isTransient(_ error: any Error) -> (retry: Bool, reconnect: Bool) {
        if let e = error as? PSQLError {
            switch e.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown: return (true, true)
            case .server:
                let state = e.serverInfo?[.sqlState] ?? ""
                if ["40001", "40P01"].contains(state) { return (true, false) }                 // serialization failure, deadlock
                if state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) { return (true, true) }   // connection, admin shutdown
                return (false, false)
            default: return (false, false)
            }
        }
        if error is ChannelError || error is IOError || error is LostConnection { return (true, true) }
        return (false, false)
    }

    /// A one-line error naming the server and the cause.
    static func storeError(_ error: any Error, location: PostgresLocation, _ what: String) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? PSQLError {
            let state = e.serverInfo?[.sqlState] ?? ""
            if let message = e.serverInfo?[.message] {
                if state == "28P01" || state == "28000" { return StoreError(.unavailable, "\(location.display): \(what): \(message) (check the user, PGPASSWORD or ~/.pgpass)") }
                if state == "3D000" { return StoreError(.unavailable, "\(location.display): \(what): \(message)") }
                if state == "42501" { return StoreError(.usage, "\(location.display): \(what): \(message) (this role may not do that)") }
                return StoreError(.internal, "\(location.display): \(what): \(message)")
            }
            if let underlying = e.underlying { return StoreError(.unavailable, "\(location.display): cannot reach the server (\(underlying)); is it running?") }
            return StoreError(.unavailable, "\(location.display): \(what): \(e.code)")
        }
        return StoreError(.unavailable, "\(location.display): cannot reach the server (\(error)); is it running?")
    }
}


/// Statements inside one transaction.
struct PostgresTransaction {
    let connection: PostgresConnection
    let logger: Logger


    static func query(_ sql: String, _ values: [PGValue]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let v): binds.append(v)
            case .int(let v): binds.append(v)
            case .double(let v): binds.append(v)
            case .texts(let v): binds.append(v)
            case .bool(let v): binds.append(v)
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// Runs a statement; returns the rows it affected.
    @discardableResult
    func execute(_ sql: String, _ values: [PGValue] = []) throws -> Int {
        try Self.result(of: connection.query(Self.query(sql, values), logger: logger), connection).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ values: [PGValue] = []) throws -> [PostgresRandomAccessRow] {
        try Self.result(of: connection.query(Self.query(sql, values), logger: logger), connection).rows.map { $0.makeRandomAccess() }
    }

    func row(_ sql: String, _ values: [PGValue] = []) throws -> PostgresRandomAccessRow? { try rows(sql, values).first }

    func int(_ sql: String, _ values: [PGValue] = []) throws -> Int { try row(sql, values).map { try $0[0].decode(Int?.self) ?? 0 } ?? 0 }

    /// A statement that gets no answer in this long is taken for a lost connection (a dropped network can leave
    /// a socket silent): the connection is closed and the transaction retried on a new one.
    static let silence = 10.0

    static func result<T: Sendable>(of future: EventLoopFuture<T>, _ connection: PostgresConnection) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        future.whenComplete { box.set($0); done.signal() }
        guard done.wait(timeout: .now() + silence) == .success, let result = box.get() else {
            let closing: EventLoopFuture<Void> = connection.close()
            _ = closing
            throw LostConnection()
        }
        return try result.get()
    }
}

/// The server stopped answering.
struct LostConnection: Error {}

/// A result handed from an event loop thread to the waiting thread.
final class ResultBox<T: Sendable>: @unchecked Sendable {   // guarded by `lock`
    private let lock = NSLock()
    private var value: Result<T, any Error>?
    func set(_ v: Result<T, any Error>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<T, any Error>? { lock.lock(); defer { lock.unlock() }; return value }

}

extension PostgresRandomAccessRow {
    func text(_ column: String) throws -> String { try self[column].decode(String.self) }
    func optionalText(_ column: String) throws -> String? { try self[column].decode(String?.self) }
    func double(_ column: String) throws -> Double { try self[column].decode(Double.self) }
    func optionalDouble(_ column: String) throws -> Double? { try self[column].decode(Double?.self) }
    func int(_ column: String) throws -> Int { try self[column].decode(Int.self) }
    func optionalInt(_ column: String) throws -> Int? { try self[column].decode(Int?.self) }
}

/// Notified queue names, from the event loop to the session's thread.
final class Notified: @unchecked Sendable {   // guarded by `lock`
    private let lock = NSLock()
    private var names: Set<String> = []
    private var all = false
    private var lastTaken = Date()

    func add(_ name: String) { lock.lock(); names.insert(name); lock.unlock() }
    func addAll() { lock.lock(); all = true; lock.unlock() }

    /// Whether `name` was notified since the last call; also true once `fallback` seconds passed without one (a
    /// lease that expires says nothing).
    func take(_ name: String, now: Date, fallback: Double) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let hit = all || names.remove(name) != nil || now.timeIntervalSince(lastTaken) >= fallback
        if hit { lastTaken = now; all = false }
        return hit
    }
}
