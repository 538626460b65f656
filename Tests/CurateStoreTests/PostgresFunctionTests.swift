@testable import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// The server's copy of the rules must agree with Curate's own: the gold draw of `curate_lease` is the same
/// function as `QueueRules.wantsGold`, so a session serves the same mix whichever store it is on.
@Suite struct PostgresFunctionTests {
    @Test func theServersGoldDrawIsCuratesOwn() throws {
        let store = try PostgresStore(try PostgresLocation(url: try PostgresServer.newDatabase()))
        var disagreements: [String] = []
        for annotator in ["ana", "ben", "Zoë 李", "oracle-2"] {
            for rate in [0.0, 0.1, 0.3, 0.5, 1.0] {
                let rows = try store.read("drawing") { tx in
                    try tx.rows("SELECT n, curate_wants_gold($1, n, $2) AS gold FROM generate_series(0, 199) AS n", [.text(annotator), .double(rate)])
                }
                for row in rows {
                    let n = try row.int("n"), server = try row["gold"].decode(Bool.self)
                    if server != QueueRules.wantsGold(annotator: annotator, answered: n, rate: rate) { disagreements.append("\(annotator) #\(n) at \(rate)") }
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }
}
