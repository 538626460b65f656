import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement driven through SQLite's C API, for the loops that write one row per tracked file:
/// GRDB's typed arguments cost microseconds per row, which adds up over 100,000 files.
struct RawStatement {
    let statement: Statement
    var handle: OpaquePointer { statement.sqliteStatement }

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
    }

    /// SQLite copies the bytes before returning (SQLITE_TRANSIENT).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    enum Value {
        case text(String)
        case int(Int64)
        case blob(Data)
        case null
    }

    /// Binds the values in order, runs the statement once, and resets it.
    func run(_ values: [Value]) throws {
        let s = handle
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .text(let text): sqlite3_bind_text(s, index, text, -1, Self.transient)
            case .int(let v): sqlite3_bind_int64(s, index, v)
            case .blob(let data): _ = data.withUnsafeBytes { sqlite3_bind_blob(s, index, $0.baseAddress, Int32($0.count), Self.transient) }
            case .null: sqlite3_bind_null(s, index)
            }
        }
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw VersioningError(.io, "metadata database: write failed (\(rc)): \(String(cString: sqlite3_errmsg(sqlite3_db_handle(s))))")
        }
    }
}

extension Optional where Wrapped == String {
    var sqlValue: RawStatement.Value { map { .text($0) } ?? .null }
}

extension Optional where Wrapped == Int {
    var sqlValue: RawStatement.Value { map { .int(Int64($0)) } ?? .null }
}

/// A TEXT column as a String (empty for NULL).
@inline(__always)
func columnString(_ statement: OpaquePointer, _ column: Int32) -> String {
    guard let text = sqlite3_column_text(statement, column) else { return "" }
    return String(cString: text)
}

/// A TEXT column holding 64 hex digits as a hash, without making a String.
@inline(__always)
func columnHash(_ statement: OpaquePointer, _ column: Int32) -> ContentHash? {
    guard let text = sqlite3_column_text(statement, column) else { return nil }
    let count = Int(sqlite3_column_bytes(statement, column))
    return ContentHash.parse(UnsafeRawBufferPointer(start: text, count: count))
}
