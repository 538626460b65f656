import Foundation
import GRDB

extension SQLiteStore {
    /// SQLite keeps an answer's id as the table's rowid.
    static func column(_ table: String, _ column: String) -> String { table == "queue_answers" && column == "id" ? "rowid" : column }

    static func snapshot(_ db: Database) throws -> StoreSnapshot {
        var snapshot = StoreSnapshot()
        for table in StoreSnapshot.tables {
            let columns = table.columns.map { column(table.name, $0) }.joined(separator: ", ")
            snapshot.rows[table.name] = try Row.fetchAll(db, sql: "SELECT \(columns) FROM \(table.name)").map { row in
                row.databaseValues.map { value -> StoreValue in
                    switch value.storage {
                    case .null: return .null
                    case .int64(let v): return .int(v)
                    case .double(let v): return .double(v)
                    case .string(let v): return .text(v)
                    case .blob(let v): return .text(String(decoding: v, as: UTF8.self))
                    }
                }
            }
        }
        return snapshot
    }

    package func snapshot() throws(StoreError) -> StoreSnapshot {
        try read("reading the labeling state") { db in try Self.snapshot(db) }
    }

    package func load(_ snapshot: StoreSnapshot, expecting expected: [TableFigures]) throws(StoreError) {
        let location = path
        try write("writing the labeling state") { db in
            for table in StoreSnapshot.tables {
                let columns = table.columns.map { Self.column(table.name, $0) }
                let statement = try db.makeStatement(sql: "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))")
                for row in snapshot.rows[table.name] ?? [] {
                    try statement.execute(arguments: StatementArguments(row.map { value -> DatabaseValue in
                        switch value {
                        case .null: return .null
                        case .int(let v): return v.databaseValue
                        case .double(let v): return v.databaseValue
                        case .text(let v): return v.databaseValue
                        }
                    }))
                }
            }
            // Read back inside the transaction: a copy that does not match is rolled back, never kept.
            try StoreMigration.check(try Self.snapshot(db).figures, against: expected, location: location)
        }
    }
}
