@testable import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// Blocks, held answers, the event log and adaptive gold rates, on both stores.
@Suite struct VettingStoreTests {
    func store(_ kind: StoreKind, items: Int, overlap: Int = 1, gold: Set<Int> = []) throws -> (any LabelingStore, ScratchDirectory) {
        let scratch = ScratchDirectory()
        let store = try kind.make(scratch)
        try store.createQueue(QueueSpec(name: "q", task: .classify, overlap: overlap),
                              items: (0..<items).map { QueueItem(path: "img\($0).png", gold: gold.contains($0) ? #"{"class":"a"}"# : nil) })
        return (store, scratch)
    }

    func answer(_ store: any LabelingStore, _ who: String, _ label: String = "a") throws -> String? {
        guard let item = try store.leaseNext("q", annotator: who) else { return nil }
        try store.storeAnswer("q", path: item.path, annotator: who, answer: #"{"class":"\#(label)"}"#, seconds: 2, lease: item.lease!)
        return item.path
    }

    /// A block holds the answers (not counted, not exported), drops the lease, returns the items to others and
    /// refuses the annotator; an unblock counts the answers again. Each decision is recorded once, in order.
    @Test(arguments: StoreKind.allCases) func blockHoldsAnswersAndUnblockRestoresThem(_ kind: StoreKind) throws {
        let (store, scratch) = try store(kind, items: 4)
        _ = scratch
        let first = try #require(try answer(store, "gus", "b"))
        _ = try #require(try answer(store, "gus", "b"))
        let held = try #require(try store.leaseNext("q", annotator: "gus"))
        #expect(try store.queueSummary("q").done == 2)
        let block = try #require(try store.recordDecision("q", QueueDecision(annotator: "gus", action: .block, reason: "answers b to everything", evidence: ["run 2"], by: "policy")))
        #expect(block.id > 0)
        #expect(try store.recordDecision("q", QueueDecision(annotator: "gus", action: .block, reason: "again", by: "policy")) == nil)
        #expect(try store.queueSummary("q").done == 0)
        #expect(try store.queueSummary("q").spec.blocked == ["gus"])
        #expect(try store.queueAnswers("q").isEmpty)
        #expect(try store.queueAnswers("q", includeHeld: true).map(\.held) == [true, true])
        #expect(try store.activeLeases("q", now: Date()).isEmpty)
        #expect(try store.leaseNext("q", annotator: "gus") == nil)
        #expect(try store.activeBlock("q", annotator: "gus")?.reason == "answers b to everything")
        // Their late answer is refused with the reason; they cannot undo either.
        #expect { try store.storeAnswer("q", path: held.path, annotator: "gus", answer: #"{"class":"b"}"#, seconds: 1, lease: held.lease!) } throws: { error in
            (error as? StoreError)?.kind == .locked && "\(error)".contains("paused for review: answers b to everything")
        }
        #expect { _ = try store.undoLastAnswer("q", annotator: "gus") } throws: { ($0 as? StoreError)?.kind == .locked }
        // The items gus answered go to someone else.
        var served: Set<String> = []
        while let path = try answer(store, "ana") { served.insert(path) }
        #expect(served.contains(first) && served.count == 4)
        #expect(try store.recordDecision("q", QueueDecision(annotator: "gus", action: .unblock, reason: "checked", by: "lead")) != nil)
        #expect(try store.queueAnswers("q").filter { $0.annotator == "gus" }.count == 2)
        #expect(try store.activeBlock("q", annotator: "gus") == nil)
        #expect(try store.decisions("q", after: 0).map(\.action) == [.block, .unblock])
        #expect(try store.decisions("q", after: block.id).map(\.by) == ["lead"])
        #expect(try store.decisions("q", after: 0).first?.evidence == ["run 2"])
    }

    /// A review flag is recorded once until cleared.
    @Test(arguments: StoreKind.allCases) func reviewsAreRecordedOnceUntilCleared(_ kind: StoreKind) throws {
        let (store, scratch) = try store(kind, items: 2)
        _ = scratch
        let review = QueueDecision(annotator: "eli", action: .review, reason: "reads 3 as 8", by: "policy")
        #expect(try store.recordDecision("q", review) != nil)
        #expect(try store.recordDecision("q", review) == nil)
        #expect(try store.recordDecision("q", QueueDecision(annotator: "eli", action: .clear, reason: "fine", by: "lead")) != nil)
        #expect(try store.recordDecision("q", QueueDecision(annotator: "eli", action: .clear, reason: "fine", by: "lead")) == nil)
        #expect(try store.recordDecision("q", review) != nil)
    }

    /// The event log lists answers and undos in order; a follower reads only what is after its cursor.
    @Test(arguments: StoreKind.allCases) func eventsFollowAnswersAndUndos(_ kind: StoreKind) throws {
        let (store, scratch) = try store(kind, items: 3)
        _ = scratch
        let a = try #require(try answer(store, "ana"))
        let b = try #require(try answer(store, "ana"))
        _ = try store.undoLastAnswer("q", annotator: "ana")
        let events = try store.queueEvents("q", after: 0, limit: 100)
        #expect(events.map(\.kind) == [.answer, .answer, .undo])
        #expect(events.map(\.answer.path) == [a, b, b])
        #expect(events.map(\.id) == events.map(\.id).sorted() && Set(events.map(\.id)).count == 3)
        #expect(try store.queueEvents("q", after: events[1].id, limit: 100).map(\.kind) == [.undo])
        #expect(try store.queueItems("q", from: 1, limit: 10).map(\.position) == [1, 2])
    }

    /// An annotator's gold rate replaces the queue's when leasing: 1 serves only gold, 0 none.
    @Test(arguments: StoreKind.allCases) func goldRatesPerAnnotator(_ kind: StoreKind) throws {
        let (store, scratch) = try store(kind, items: 20, gold: Set(10..<20))
        _ = scratch
        try store.setGoldRates("q", ["ana": 1, "ben": 0])
        for _ in 0..<5 { #expect(try store.leaseNext("q", annotator: "ana").map { Int($0.path.dropFirst(3).dropLast(4))! >= 10 } == true); _ = try answer(store, "ana") }
        #expect { try store.setGoldRates("q", ["ana": 1.5]) } throws: { ($0 as? StoreError)?.kind == .usage }
    }

    /// Moving a store keeps policies, decisions and held answers (and rebuilds the event log).
    @Test func migrationKeepsVetting() throws {
        let (source, scratch) = try store(.sqlite, items: 3)
        _ = scratch
        try source.setQueuePolicy("q", policy: "rules: []\n")
        _ = try answer(source, "gus")
        _ = try source.recordDecision("q", QueueDecision(annotator: "gus", action: .block, reason: "r", by: "policy"))
        let target = try PostgresStore(try PostgresLocation(url: try PostgresServer.newDatabase()))
        _ = try StoreMigration.copy(from: source, to: target)
        #expect(try target.queueSpec("q").policy == "rules: []\n")
        #expect(try target.queueAnswers("q", includeHeld: true).map(\.held) == [true])
        #expect(try target.queueSummary("q").done == 0)
        #expect(try target.decisions("q", after: 0).map(\.action) == [.block])
        #expect(try target.queueEvents("q", after: 0, limit: 10).count == 1)
    }
}
