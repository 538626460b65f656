@testable import CurateStore
import CurateTestSupport
import Testing

/// The stores every store test runs against: the embedded SQLite file and PostgreSQL (a throwaway cluster the
/// tests start themselves; see `PostgresServer`).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A new, empty store of this kind.
    func make(_ scratch: ScratchDirectory) throws -> any LabelingStore {
        switch self {
        case .sqlite: return try SQLiteStore.open(curateDirectory: scratch.path)
        case .postgres: return try PostgresStore(try PostgresLocation(url: try PostgresServer.newDatabase()))
        }
    }
}
