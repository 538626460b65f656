@testable import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// Eight processes, each answering for two annotators, working one 2,000-item PostgreSQL queue at once through the
/// session's code path (`QueueBackend`), some killed with SIGKILL
/// and their server connections terminated while they work: afterwards no annotator answered an item twice, every
/// item has exactly its overlap of answers, and none is lost.
@Suite(.serialized) struct PostgresConcurrencyTests {
    static let worker = (CLI.executable as NSString).deletingLastPathComponent + "/curate-bench"

    func start(_ url: String, annotators: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.worker)
        p.arguments = ["queue-worker", "--store", url, "--queue", "q", "--annotators", annotators]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test(arguments: [1, 2])
    func eightProcessesKeepTheCounts(overlap: Int) throws {
        let url = try PostgresServer.newDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let store = try PostgresStore(try PostgresLocation(url: url))
        let items = 2_000
        try store.createQueue(QueueSpec(name: "q", task: .classify, overlap: overlap), items: (0..<items).map { QueueItem(path: "img\($0).png") })
        let groups = (0..<8).map { "w\($0)a,w\($0)b" }
        var workers = try groups.map { try start(url, annotators: $0) }
        // While they work: kill two workers outright, and cut every server connection twice.
        Thread.sleep(forTimeInterval: 1)
        for victim in [2, 5] { kill(workers[victim].processIdentifier, SIGKILL) }
        for _ in 0..<2 {
            try PostgresServer.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()")
            Thread.sleep(forTimeInterval: 0.5)
        }
        for w in workers { w.waitUntilExit() }
        #expect(workers[2].terminationReason == .uncaughtSignal && workers[5].terminationReason == .uncaughtSignal)
        // The killed workers' annotators come back (a restarted session gets the item it held) and finish.
        workers = try [2, 5].map { try start(url, annotators: groups[$0]) }
        for w in workers { w.waitUntilExit(); #expect(w.terminationStatus == 0) }

        let answers = try store.queueAnswers("q")
        let pairs = answers.map { $0.path + "|" + $0.annotator }
        #expect(Set(pairs).count == pairs.count, "an annotator answered an item twice")
        var perItem: [String: Int] = [:]
        for a in answers { perItem[a.path, default: 0] += 1 }
        #expect(perItem.count == items && perItem.values.allSatisfy { $0 == overlap }, "\(perItem.values.filter { $0 != overlap }.count) items without exactly \(overlap) answers")
        let summary = try store.queueSummary("q")
        #expect(summary.done == items && summary.answers == items * overlap && summary.activeLeases == 0)
        #expect(try store.lateAnswers("q").isEmpty)
    }
}
