import ArgumentParser
import CurateCommands
import CurateCore
import CurateStore
import Foundation

extension Bench {
    /// The labeling store under a team's load: `clients` annotators, each on their own connection and thread,
    /// lease → answer → lease the next, paced to `rate` answers per second in all (0: as fast as they can). One
    /// round trip is an answer plus the next lease, as a session does it on a key press. Also times making a queue.
    /// Prints JSON: {"store", "clients", "answers", "seconds", "answers_per_minute", "p50_ms", "p99_ms", "create_s"}.
    struct StoreBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "store", abstract: "Round trips of many annotators on one queue.")
        @Option(help: "postgres://… or sqlite:FOLDER (a .curate folder).") var store: String
        @Option var clients = 32
        @Option(help: "Items in the queue.") var items = 20_000
        @Option(help: "Answers per second over all clients (0: unpaced).") var rate = 0.0
        @Option(help: "Seconds to run.") var seconds = 20.0
        @Option var overlap = 1

        func open() throws -> any LabelingStore { try openStore(store) }

        func run() async throws {
            try await reportingErrors {
                let name = "bench-\(UUID().uuidString.prefix(8).lowercased())"
                let queued = (0..<items).map { QueueItem(path: "images/\($0).png") }
                let target = try open()
                let createStart = ContinuousClock.now
                try target.createQueue(QueueSpec(name: name, task: .classify, overlap: overlap), items: queued)
                let created = (ContinuousClock.now - createStart).seconds
                let stores = try (0..<clients).map { _ in try open() }
                let results = Results()
                let start = Date()
                let interval = rate > 0 ? Double(clients) / rate : 0
                // One thread per client (concurrentPerform would run only as many at once as there are cores).
                let group = DispatchGroup()
                for i in 0..<clients { group.enter(); Thread.detachNewThread { defer { group.leave() }
                    let store = stores[i], who = "annotator-\(i)"
                    do {
                        var item = try store.leaseNext(name, annotator: who)
                        var due = Date().addingTimeInterval(interval * Double(i) / Double(clients))
                        while let current = item, Date().timeIntervalSince(start) < seconds {
                            if interval > 0 { let wait = due.timeIntervalSinceNow; if wait > 0 { usleep(useconds_t(wait * 1e6)) }; due += interval }
                            let t = ContinuousClock.now
                            try store.storeAnswer(name, path: current.path, annotator: who, answer: #"{"class":"a"}"#, seconds: 1, lease: current.lease ?? "")
                            item = try store.leaseNext(name, annotator: who)
                            results.add((ContinuousClock.now - t).seconds * 1000)
                        }
                    } catch { results.fail("\(error)") }
                } }
                group.wait()
                let elapsed = Date().timeIntervalSince(start)
                if let failure = results.failure { throw CommandFailure(message: failure, kind: .internal) }
                let rounds = results.all.sorted()
                let at = { (q: Double) in rounds.isEmpty ? 0 : rounds[min(rounds.count - 1, Int(Double(rounds.count) * q))] }
                Console.out(try jsonText(["store": store.hasPrefix("sqlite:") ? "sqlite" : "postgres", "clients": clients, "answers": rounds.count,
                                          "seconds": elapsed, "answers_per_minute": Double(rounds.count) / elapsed * 60, "p50_ms": at(0.5), "p99_ms": at(0.99),
                                          "create_s": created, "items": items] as [String: Any]))
            }
        }
    }
}

/// A store named as the benchmarks name them: postgres://… or sqlite:FOLDER (a .curate folder).
func openStore(_ store: String) throws -> any LabelingStore {
    if store.hasPrefix("sqlite:") { return try SQLiteStore.open(curateDirectory: String(store.dropFirst("sqlite:".count))) }
    return try PostgresStore(try PostgresLocation(url: store))
}

/// Round-trip times gathered from many threads.
final class Results: @unchecked Sendable {   // guarded by `lock`
    private let lock = NSLock()
    private var times: [Double] = []
    private(set) var failure: String?
    func add(_ ms: Double) { lock.lock(); times.append(ms); lock.unlock() }
    func fail(_ message: String) { lock.lock(); failure = failure ?? message; lock.unlock() }
    var all: [Double] { lock.lock(); defer { lock.unlock() }; return times }
}
