import Foundation
import PostgresNIO

extension PostgresStore {
    static func snapshot(_ tx: PostgresTransaction) throws -> StoreSnapshot {
        var snapshot = StoreSnapshot()
        for table in StoreSnapshot.tables {
            snapshot.rows[table.name] = try tx.rows("SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name)").map { row in
                try row.map { cell -> StoreValue in
                    guard cell.bytes != nil else { return .null }
                    switch cell.dataType {
                    case .int2, .int4, .int8: return .int(Int64(try cell.decode(Int.self)))
                    case .float4, .float8: return .double(try cell.decode(Double.self))
                    default: return .text(try cell.decode(String.self))
                    }
                }
            }
        }
        return snapshot
    }

    package func snapshot() throws(StoreError) -> StoreSnapshot {
        try read("reading the labeling state") { tx in try Self.snapshot(tx) }
    }

    package func load(_ snapshot: StoreSnapshot, expecting expected: [TableFigures]) throws(StoreError) {
        let where_ = location
        try write("writing the labeling state") { tx in
            for table in StoreSnapshot.tables {
                let rows = snapshot.rows[table.name] ?? []
                let width = table.columns.count
                // Many rows per statement (at most 60,000 parameters).
                for start in stride(from: 0, to: rows.count, by: max(1, 60_000 / width)) {
                    let chunk = rows[start..<min(rows.count, start + max(1, 60_000 / width))]
                    var values: [PGValue] = [], tuples: [String] = []
                    for row in chunk {
                        tuples.append("(" + (1...width).map { "$\(values.count + $0)" }.joined(separator: ", ") + ")")
                        values += row.map { value -> PGValue in
                            switch value {
                            case .null: return .text(nil)
                            case .int(let v): return .int(Int(v))
                            case .double(let v): return .double(v)
                            case .text(let v): return .text(v)
                            }
                        }
                    }
                    try tx.execute("INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES " + tuples.joined(separator: ", "), values)
                }
            }
            // Ids were copied as they were: the sequences continue after them.
            for (table, sequence) in [("queue_answers", "queue_answers_id_seq"), ("queue_late_answers", "queue_late_answers_id_seq"),
                                      ("route_runs", "route_runs_id_seq"), ("workflow_runs", "workflow_runs_id_seq"),
                                      ("queue_decisions", "queue_decisions_id_seq")] {
                try tx.execute("SELECT setval('\(sequence)', COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)")
            }
            try StoreMigration.check(try Self.snapshot(tx).figures, against: expected, location: where_)
        }
    }
}
