@testable import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// Runs against both stores: the embedded SQLite and a real PostgreSQL server.
@Suite struct QueueTests {
    func repository(_ kind: StoreKind, items: Int, spec: QueueSpec, gold: Set<Int> = []) throws -> (any LabelingStore, ScratchDirectory) {
        let scratch = ScratchDirectory()
        let repo = try kind.make(scratch)
        try repo.createQueue(spec, items: (0..<items).map { QueueItem(path: "img\($0).png", gold: gold.contains($0) ? #"{"class":"a"}"# : nil) })
        return (repo, scratch)
    }

    /// Two annotators working at once never get the same item; every item is answered exactly once.
    @Test(arguments: StoreKind.allCases) func overlapOneServesEachItemToOneAnnotator(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 20, spec: QueueSpec(name: "q", task: .classify))
        _ = _scratch
        var served: [String: String] = [:]
        var turn = 0
        while true {
            let annotator = turn % 2 == 0 ? "ana" : "ben"
            turn += 1
            guard let item = try repo.leaseNext("q", annotator: annotator) else {
                if try repo.leaseNext("q", annotator: turn % 2 == 0 ? "ana" : "ben") == nil { break } else { continue }
            }
            #expect(served[item.path] == nil, "\(item.path) served twice")
            served[item.path] = annotator
            // The other annotator, asking while this lease is live, gets a different item.
            try repo.storeAnswer("q", path: item.path, annotator: annotator, answer: #"{"class":"a"}"#, seconds: 1, lease: item.lease!)
        }
        #expect(served.count == 20)
        let summary = try repo.queueSummary("q")
        #expect(summary.done == 20 && summary.answers == 20 && summary.annotators == ["ana", "ben"])
    }

    @Test(arguments: StoreKind.allCases) func liveLeasesAreExclusiveAndResume(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 3, spec: QueueSpec(name: "q", task: .classify))
        _ = _scratch
        let a = try #require(try repo.leaseNext("q", annotator: "ana"))
        let b = try #require(try repo.leaseNext("q", annotator: "ben"))
        #expect(a.path != b.path)
        // Asking again (a restarted session) gives back the item held.
        #expect(try repo.leaseNext("q", annotator: "ana")?.path == a.path)
        // The lead sees who holds what since when; a renewal keeps the start, an answer ends the lease.
        let start = Date()
        let later = start.addingTimeInterval(120)
        _ = try repo.renewLease("q", path: a.path, annotator: "ana", lease: try #require(a.lease), now: later)
        let leases = try repo.activeLeases("q", now: later)
        #expect(Set(leases.map { "\($0.annotator) \($0.path)" }) == ["ana \(a.path)", "ben \(b.path)"], "\(leases)")
        #expect(leases.allSatisfy { ($0.leased.map { later.timeIntervalSince($0) } ?? 0) >= 119 && $0.expires > later })
        try repo.storeAnswer("q", path: b.path, annotator: "ben", answer: #"{"class":"a"}"#, seconds: 1, lease: try #require(b.lease), now: later)
        #expect(try repo.activeLeases("q", now: later).map(\.annotator) == ["ana"])
    }

    /// `upcoming` names what `leaseNext` serves next, without leasing it.
    @Test(arguments: StoreKind.allCases) func upcomingPredictsTheNextLease(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 5, spec: QueueSpec(name: "q", task: .classify))
        _ = _scratch
        let held = try #require(try repo.leaseNext("q", annotator: "ana"))
        _ = try repo.leaseNext("q", annotator: "ben")   // ben holds img1
        let upcoming = try repo.upcoming("q", annotator: "ana")
        #expect(held.path == "img0.png" && upcoming == ["img2.png", "img3.png"])
        try repo.storeAnswer("q", path: held.path, annotator: "ana", answer: #"{"class":"a"}"#, seconds: 1, lease: held.lease!)
        #expect(try repo.leaseNext("q", annotator: "ana")?.path == upcoming[0])
    }

    /// Routing's assignment rules: per-item overlap, an excluded annotator, experts only, blocked (likely spam)
    /// annotators get nothing, and each annotator is served first the classes they are most accurate on.
    @Test(arguments: StoreKind.allCases) func routingAssignment(_ kind: StoreKind) throws {
        let scratch = ScratchDirectory()
        let repo = try kind.make(scratch)
        try repo.createQueue(QueueSpec(name: "h", task: .classify), items: [], allowEmpty: true)
        #expect(try repo.leaseNext("h", annotator: "ana") == nil)
        let added = try repo.addQueueItems("h", items: [
            QueueItem(path: "a.png", overlap: 2, predictedClass: "cat"),
            QueueItem(path: "b.png", predictedClass: "dog", excluded: "ana"),
            QueueItem(path: "c.png", predictedClass: "dog"),
        ])
        let again = try repo.addQueueItems("h", items: [QueueItem(path: "a.png")])
        #expect(added == 3 && again == 0)
        // ana is good at dogs, ben at cats: each is served their class first; b.png never goes to ana.
        try repo.setQueueSkills("h", ["ana": ["dog": 0.99, "cat": 0.6], "ben": ["cat": 0.98, "dog": 0.5]])
        let anaC = try #require(try repo.leaseNext("h", annotator: "ana"))
        let benA = try #require(try repo.leaseNext("h", annotator: "ben"))
        #expect(anaC.path == "c.png" && benA.path == "a.png")
        try repo.storeAnswer("h", path: "c.png", annotator: "ana", answer: #"{"class":"dog"}"#, seconds: 1, lease: anaC.lease!)
        let anaA = try #require(try repo.leaseNext("h", annotator: "ana"))
        #expect(anaA.path == "a.png")   // overlap 2: ben holds it, ana may too
        try repo.storeAnswer("h", path: "a.png", annotator: "ana", answer: #"{"class":"cat"}"#, seconds: 1, lease: anaA.lease!)
        #expect(try repo.leaseNext("h", annotator: "ana") == nil)             // b.png excludes ana
        try repo.storeAnswer("h", path: "a.png", annotator: "ben", answer: #"{"class":"cat"}"#, seconds: 1, lease: benA.lease!)
        // Blocked: cy gets nothing although b.png is open; experts-only queues refuse others by name.
        try repo.setQueueAccess("h", annotators: nil, blocked: ["cy"])
        #expect(try repo.leaseNext("h", annotator: "cy") == nil)
        #expect(try repo.leaseNext("h", annotator: "ben")?.path == "b.png")
        try repo.createQueue(QueueSpec(name: "experts", task: .classify, annotators: ["ana"]), items: [QueueItem(path: "a.png")])
        #expect(try repo.leaseNext("experts", annotator: "ana")?.path == "a.png")
        #expect(throws: StoreError.self) { _ = try repo.leaseNext("experts", annotator: "ben") }
        let summary = try repo.queueSummary("h"), experts = try repo.queueSummary("experts")
        #expect(summary.done == 2 && summary.spec.blocked == ["cy"] && experts.spec.annotators == ["ana"])
    }

    /// With overlap 2 and three annotators, each item ends with exactly two answers from different annotators.
    @Test(arguments: StoreKind.allCases) func overlapTwo(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 12, spec: QueueSpec(name: "q", task: .classify, overlap: 2))
        _ = _scratch
        var progress = true
        while progress {
            progress = false
            for annotator in ["ana", "ben", "cleo"] {
                if let item = try repo.leaseNext("q", annotator: annotator) {
                    try repo.storeAnswer("q", path: item.path, annotator: annotator, answer: #"{"class":"a"}"#, seconds: 1, lease: item.lease!)
                    progress = true
                }
            }
        }
        let answers = try repo.queueAnswers("q")
        #expect(answers.count == 24)
        let byItem = Dictionary(grouping: answers, by: \.path)
        #expect(byItem.count == 12 && byItem.values.allSatisfy { Set($0.map(\.annotator)).count == 2 })
    }

    /// An item held by someone who walked away returns when the lease expires.
    @Test(arguments: StoreKind.allCases) func expiredLeasesReturnTheItem(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 1, spec: QueueSpec(name: "q", task: .classify, leaseSeconds: 60))
        _ = _scratch
        let start = Date()
        let held = try #require(try repo.leaseNext("q", annotator: "ana", now: start))
        #expect(try repo.leaseNext("q", annotator: "ben", now: start.addingTimeInterval(59)) == nil)
        #expect(try repo.leaseNext("q", annotator: "ben", now: start.addingTimeInterval(61))?.path == held.path)
    }

    @Test(arguments: StoreKind.allCases) func undoGivesTheItemBack(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 3, spec: QueueSpec(name: "q", task: .classify))
        _ = _scratch
        let first = try #require(try repo.leaseNext("q", annotator: "ana"))
        try repo.storeAnswer("q", path: first.path, annotator: "ana", answer: #"{"class":"a"}"#, seconds: 2, lease: first.lease!)
        let second = try #require(try repo.leaseNext("q", annotator: "ana"))
        #expect(second.path != first.path)
        #expect(try repo.undoLastAnswer("q", annotator: "ana")?.path == first.path)
        #expect(try repo.queueAnswers("q").isEmpty)
        #expect(try repo.leaseNext("q", annotator: "ana")?.path == first.path)
    }

    /// Any earlier answer can be taken back (the session's history); progress per annotator counts what they gave
    /// and the items they could still answer.
    @Test(arguments: StoreKind.allCases) func reopenAnyAnswerAndProgressPerAnnotator(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 4, spec: QueueSpec(name: "q", task: .classify, overlap: 2))
        _ = _scratch
        var given: [String] = []
        for _ in 0..<3 {
            let item = try #require(try repo.leaseNext("q", annotator: "ana"))
            try repo.storeAnswer("q", path: item.path, annotator: "ana", answer: #"{"class":"a"}"#, seconds: 1, lease: item.lease!)
            given.append(item.path)
        }
        let ben = try #require(try repo.leaseNext("q", annotator: "ben"))
        try repo.storeAnswer("q", path: ben.path, annotator: "ben", answer: #"{"class":"a"}"#, seconds: 1, lease: ben.lease!)
        #expect(try repo.annotatorProgress("q", annotator: "ana") == (3, 1))
        #expect(try repo.annotatorProgress("q", annotator: "ben") == (1, 3))
        // ana holds the fourth item; she takes back her first answer: it is hers again, the fourth goes back.
        let held = try #require(try repo.leaseNext("q", annotator: "ana"))
        let back = try #require(try repo.reopenAnswer("q", annotator: "ana", path: given[0], now: Date()))
        #expect(back.path == given[0] && back.lease != nil)
        #expect(Set(try repo.queueAnswers("q").filter { $0.annotator == "ana" }.map(\.path)) == Set(given.dropFirst()))
        #expect(try repo.activeLeases("q", now: Date()).filter { $0.annotator == "ana" }.map(\.path) == [given[0]])
        try repo.storeAnswer("q", path: back.path, annotator: "ana", answer: #"{"class":"b"}"#, seconds: 1, lease: back.lease!)
        #expect(try repo.leaseNext("q", annotator: "ana")?.path == held.path)
        #expect(try repo.reopenAnswer("q", annotator: "ana", path: "nowhere.png", now: Date()) == nil)
        #expect(throws: StoreError.self) { try repo.annotatorProgress("nope", annotator: "ana") }
    }

    /// Gold items are mixed in for every annotator (not limited by overlap) at roughly the rate asked.
    @Test(arguments: StoreKind.allCases) func goldIsMixedIn(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 60, spec: QueueSpec(name: "q", task: .classify, overlap: 2, goldRate: 0.25), gold: Set(0..<20))
        _ = _scratch
        for annotator in ["ana", "ben"] {
            var gold = 0, total = 0
            while let item = try repo.leaseNext("q", annotator: annotator), total < 40 {
                if item.gold != nil { gold += 1 }
                total += 1
                try repo.storeAnswer("q", path: item.path, annotator: annotator, answer: #"{"class":"a"}"#, seconds: 1, lease: item.lease!)
            }
            #expect(gold >= 4 && gold <= 18, "\(annotator): \(gold) gold of \(total)")
        }
        let goldAnswers = try repo.queueAnswers("q").filter(\.isGold)
        #expect(Set(goldAnswers.filter { $0.annotator == "ana" }.map(\.path)).count == goldAnswers.filter { $0.annotator == "ana" }.count)
    }

    @Test(arguments: StoreKind.allCases) func errors(_ kind: StoreKind) throws {
        let (repo, _scratch) = try repository(kind, items: 2, spec: QueueSpec(name: "q", task: .classify))
        _ = _scratch
        #expect(throws: StoreError.self) { try repo.createQueue(QueueSpec(name: "q", task: .classify), items: [QueueItem(path: "x")]) }
        #expect(throws: StoreError.self) { try repo.createQueue(QueueSpec(name: "bad name", task: .classify), items: [QueueItem(path: "x")]) }
        #expect(throws: StoreError.self) { try repo.createQueue(QueueSpec(name: "dup", task: .classify), items: [QueueItem(path: "x"), QueueItem(path: "x")]) }
        do { _ = try repo.leaseNext("nope", annotator: "ana"); Issue.record("no error") } catch {
            #expect(error.description.contains("no queue named nope (queues: q)"))
        }
        #expect(throws: StoreError.self) { try repo.leaseNext("q", annotator: "a:b") }
        #expect(throws: StoreError.self) { try repo.storeAnswer("q", path: "elsewhere.png", annotator: "ana", answer: "{}", seconds: 0, lease: "x") }
        try repo.closeQueue("q")
        #expect(throws: StoreError.self) { try repo.leaseNext("q", annotator: "ana") }
        #expect(try repo.queueSummary("q").closed)
    }
}
