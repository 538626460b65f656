@testable import CurateStore
import CurateTestSupport
import Foundation
import GRDB
import Testing

/// The embedded store's own promises: its file, its schema version, renewals, all-or-nothing routing runs.
@Suite struct SQLiteStoreTests {
    /// A live session renews its lease; once the lease expired and moved to someone else, the old token is refused.
    @Test(arguments: StoreKind.allCases) func leasesRenewWhileHeldAndFenceAfterwards(_ kind: StoreKind) throws {
        let scratch = ScratchDirectory()
        let store = try kind.make(scratch)
        try store.createQueue(QueueSpec(name: "q", task: .classify, leaseSeconds: 60), items: [QueueItem(path: "a.png")])
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let ana = try #require(try store.leaseNext("q", annotator: "ana", now: t0))
        let renewed = try store.renewLease("q", path: "a.png", annotator: "ana", lease: ana.lease!, now: t0.addingTimeInterval(50))
        #expect(renewed == t0.addingTimeInterval(110))
        // Still ana's at t0 + 100 (it would have expired at t0 + 60 without the renewal).
        #expect(try store.leaseNext("q", annotator: "ben", now: t0.addingTimeInterval(100)) == nil)
        // Expired at t0 + 110: ben gets it; ana's renewal and answer are refused.
        let ben = try #require(try store.leaseNext("q", annotator: "ben", now: t0.addingTimeInterval(120)))
        #expect(ben.path == "a.png" && ben.lease != ana.lease)
        #expect(throws: StoreError(.conflict, "a.png: ana's lease in queue q expired or was replaced; lease it again with curate queue next")) {
            _ = try store.renewLease("q", path: "a.png", annotator: "ana", lease: ana.lease!, now: t0.addingTimeInterval(121))
        }
        try store.storeAnswer("q", path: "a.png", annotator: "ben", answer: #"{"class":"a"}"#, seconds: 3, lease: ben.lease!, now: t0.addingTimeInterval(125))
        #expect(throws: StoreError.self) {
            try store.storeAnswer("q", path: "a.png", annotator: "ana", answer: #"{"class":"b"}"#, seconds: 3, lease: ana.lease!, now: t0.addingTimeInterval(126))
        }
        #expect(try store.queueAnswers("q").map(\.annotator) == ["ben"])
    }

    /// A routing run that names a closed queue records nothing at all.
    @Test(arguments: StoreKind.allCases) func aRoutingRunIsAllOrNothing(_ kind: StoreKind) throws {
        let scratch = ScratchDirectory()
        let store = try kind.make(scratch)
        try store.createQueue(QueueSpec(name: "open", task: .classify), items: [], allowEmpty: true)
        try store.createQueue(QueueSpec(name: "shut", task: .classify), items: [], allowEmpty: true)
        try store.closeQueue("shut")
        let run = RouteRun(model: "m@1", target: 0.9, summary: "{}", records: [RouteRecord(path: "a.png", decision: .human, queue: "open")],
                           retire: ["v.png"], queued: [QueueBatch(queue: "open", items: [QueueItem(path: "a.png")]), QueueBatch(queue: "shut", items: [QueueItem(path: "b.png")])])
        #expect(throws: StoreError(.usage, "queue shut is closed")) { try store.recordRoute(run) }
        let state = try store.routeState()
        #expect(state.runs == 0 && state.items.isEmpty && state.retired.isEmpty && state.lastTarget == nil)
        #expect(try store.queueItems("open").isEmpty)
        var fine = run
        fine.queued.removeLast()
        #expect(try store.recordRoute(fine) == 1)
        let after = try store.routeState()
        #expect(after.runs == 1 && after.lastTarget == 0.9 && after.items["a.png"]?.queue == "open" && after.retired == ["v.png"])
        #expect(try store.queueItems("open").map(\.path) == ["a.png"])
    }

    /// Workflow runs and steps round-trip through their record types; the cache entry is the latest done step.
    @Test(arguments: StoreKind.allCases) func workflowRunsRoundTrip(_ kind: StoreKind) throws {
        let scratch = ScratchDirectory()
        let store = try kind.make(scratch)
        let t = Date(timeIntervalSince1970: 2_000_000)
        let id = try store.startWorkflowRun(workflow: "w", file: "w.yaml", params: "{}", token: "tok", now: t)
        let step = WorkflowStepRecord(run: id, step: "a", status: .done, key: "k1", started: t, finished: t.addingTimeInterval(2), outputs: #"{"o":"h"}"#,
                                      pid: 42, process: "boot/1", message: nil)
        try store.recordWorkflowStep(step)
        try store.finishWorkflowRun(id, status: .done, message: nil, endRevision: "abc", now: t.addingTimeInterval(3))
        #expect(try store.workflowSteps(run: id) == [step])
        #expect(try store.lastDoneStep(workflow: "w", step: "a") == step)
        #expect(try store.lastDoneStep(workflow: "other", step: "a") == nil)
        let runs = try store.workflowRuns()
        #expect(runs.count == 1 && runs[0].status == .done && runs[0].endRevision == "abc" && runs[0].finished == t.addingTimeInterval(3))
    }

    /// A store written by a newer curate is refused; a damaged file is named, never replaced.
    @Test func newerOrDamagedStoresAreRefused() throws {
        let scratch = ScratchDirectory()
        _ = try SQLiteStore.open(curateDirectory: scratch.path)
        let path = scratch.path + "/labeling.sqlite"
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99 from the future')") }
        try queue.close()
        #expect(throws: StoreError(.invalidData, "\(path) was written by a newer curate (it has migrations this one does not know); upgrade curate")) {
            _ = try SQLiteStore.open(curateDirectory: scratch.path)
        }
        let damaged = ScratchDirectory()
        let garbage = Data(repeating: 0x5a, count: 8192)
        try garbage.write(to: URL(fileURLWithPath: damaged.path + "/labeling.sqlite"))
        do {
            _ = try SQLiteStore.open(curateDirectory: damaged.path)
            Issue.record("a damaged store opened")
        } catch {
            #expect(error.kind == .invalidData && error.message.hasPrefix(damaged.path + "/labeling.sqlite: the labeling database is damaged"), "\(error)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: damaged.path + "/labeling.sqlite")) == garbage)
    }

    /// Processes creating the store at once end up with one file: what one writes, the others see.
    @Test func concurrentCreationMakesOneStore() async throws {
        let scratch = ScratchDirectory()
        let dir = scratch.path
        let stores = try await withThrowingTaskGroup(of: SQLiteStore.self) { group in
            for _ in 0..<4 { group.addTask { try SQLiteStore.open(curateDirectory: dir) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        try stores[0].createQueue(QueueSpec(name: "q", task: .classify), items: [QueueItem(path: "a.png")])
        for store in stores { #expect(try store.queueNames() == ["q"]) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".new-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
