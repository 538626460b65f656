import Foundation

/// Where a PostgreSQL store is, from a `postgres://` URL completed by libpq's conventions: `PGHOST`, `PGPORT`,
/// `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE` and `~/.pgpass` (or `PGPASSFILE`) for what the URL leaves out.
package struct PostgresLocation: Sendable, Equatable {
    package enum SSLMode: String, Sendable { case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full" }

    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String
    package var sslMode: SSLMode

    /// The address without credentials, for messages: `postgres://user@host:port/database`.
    package var display: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// Parses `postgres://[user[:password]@][host][:port][/database][?sslmode=…]` (or `postgresql://`).
    package init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw StoreError(.usage, "\(Self.redacted(text)): not a PostgreSQL URL (postgres://[user[:password]@]host[:port]/database)")
        }
        let env = environment
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? env["PGHOST"] ?? "localhost"
        port = components.port ?? env["PGPORT"].flatMap(Int.init) ?? 5432
        user = components.user.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding } ?? env["PGUSER"] ?? env["USER"] ?? "postgres"
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? env["PGDATABASE"] ?? user : (path.removingPercentEncoding ?? path)
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, b in b })
        let mode = query["sslmode"] ?? env["PGSSLMODE"] ?? "prefer"
        guard let ssl = SSLMode(rawValue: mode) else {
            throw StoreError(.usage, "sslmode=\(mode): expected disable, allow, prefer, require, verify-ca or verify-full")
        }
        sslMode = ssl
        password = components.password?.removingPercentEncoding ?? env["PGPASSWORD"]
        if password == nil { password = Self.passFile(env).flatMap { Self.lookUp($0, host: host, port: port, database: database, user: user) } }
    }

    /// A URL with its password replaced by `***`.
    package static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://…"
    }

    static func passFile(_ env: [String: String]) -> String? {
        if let file = env["PGPASSFILE"] { return file }
        return env["HOME"].map { $0 + "/.pgpass" }
    }

    /// The password of the first matching `host:port:database:user:password` line (`*` matches anything).
    static func lookUp(_ file: String, host: String, port: Int, database: String, user: String) -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var fields: [String] = [], current = "", escaped = false
            for c in line {
                if escaped { current.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == ":" { fields.append(current); current = "" } else { current.append(c) }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
