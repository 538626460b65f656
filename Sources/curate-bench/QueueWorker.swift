import ArgumentParser
import CurateCommands
import CurateCore
import CurateStore
import CurateTerminal
import Foundation

extension Bench {
    /// Annotators working a queue as fast as the store allows, through the session's backend (`QueueBackend`):
    /// lease, answer, lease the next. Used by the concurrency tests (many of these at once, some killed) and the
    /// round-trip benchmark. Prints {"answers", "late", "p50_ms", "p99_ms"}: one round trip is an answer plus the
    /// next lease.
    struct QueueWorker: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "queue-worker", abstract: "Work a queue as fast as possible.")
        @Option var store: String
        @Option var queue: String
        @Option(help: "Comma-separated annotators this process answers for, in turn.") var annotators: String
        @Option(help: "Stop after this many answers (0: until the queue has nothing left for them).") var limit = 0

        func run() async throws {
            try await reportingErrors {
                let labeling = try PostgresStore(try PostgresLocation(url: store))
                let backends = annotators.split(separator: ",").map { QueueBackend(store: labeling, queue: queue, annotator: String($0)) }
                var current: [QueueItem?] = try backends.map { try $0.next() }
                var rounds: [Double] = [], answers = 0, late = 0
                while current.contains(where: { $0 != nil }), limit == 0 || answers < limit {
                    for (i, backend) in backends.enumerated() {
                        guard let item = current[i] else { continue }
                        let start = ContinuousClock.now
                        if try labeling.storeAnswer(queue, path: item.path, annotator: backend.annotator, answer: #"{"class":"a"}"#, seconds: 0.1,
                                                    lease: item.lease ?? "") == .late { late += 1 }
                        answers += 1
                        current[i] = try backend.next()
                        rounds.append((ContinuousClock.now - start).seconds * 1000)
                    }
                }
                rounds.sort()
                let at = { (q: Double) in rounds.isEmpty ? 0 : rounds[min(rounds.count - 1, Int(Double(rounds.count) * q))] }
                Console.out(try jsonText(["answers": answers, "late": late, "p50_ms": at(0.5), "p99_ms": at(0.99)]))
            }
        }
    }
}
