import CurateCore
import CurateStore
import Foundation

/// The bundled simulated crowd (as `datasets/digits/make_crowd.py` made `crowd.jsonl`): eight annotators on a
/// ten-class task — ana, ben, cleo and dev careful (accuracy 0.97, 0.93, 0.90, 0.95, about 4 s an item), eli careful
/// but reading 3 as 8 six times in ten (an honest confusion), and three frauds: fay clicks at random, gus always
/// answers 1, hal answers at random in 0.4 s. For tests and benchmarks of live vetting.
package struct SimulatedCrowd: Sendable {
    package struct Annotator: Sendable {
        package enum Kind: String, Sendable { case careful, confused, random, constant, fastRandom = "fast random" }
        package var name: String
        package var kind: Kind
        package var accuracy: Double
        package var isFraud: Bool { kind == .random || kind == .constant || kind == .fastRandom }
    }

    package static let annotators: [Annotator] = [
        .init(name: "ana", kind: .careful, accuracy: 0.97), .init(name: "ben", kind: .careful, accuracy: 0.93),
        .init(name: "cleo", kind: .careful, accuracy: 0.90), .init(name: "dev", kind: .careful, accuracy: 0.95),
        .init(name: "eli", kind: .confused, accuracy: 0.95), .init(name: "fay", kind: .random, accuracy: 0.1),
        .init(name: "gus", kind: .constant, accuracy: 0.1), .init(name: "hal", kind: .fastRandom, accuracy: 0.1),
    ]

    /// One answer (a class 0–9) and the seconds it took, for an item whose true class is `truth`.
    package static func answer(_ a: Annotator, truth: Int, rng: inout SplitMix64) -> (label: Int, seconds: Double) {
        let seconds = a.kind == .fastRandom ? 0.4 : exp(1.4 + 0.3 * gaussian(&rng))
        switch a.kind {
        case .random, .fastRandom: return (Int(rng.next() % 10), seconds)
        case .constant: return (1, seconds)
        case .confused where truth == 3 && uniform(&rng) < 0.6: return (8, seconds)
        case .careful, .confused:
            if uniform(&rng) < a.accuracy { return (truth, seconds) }
            let wrong = Int(rng.next() % 9)
            return (wrong >= truth ? wrong + 1 : wrong, seconds)
        }
    }

    static func uniform(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
    static func gaussian(_ rng: inout SplitMix64) -> Double {
        let u = max(uniform(&rng), 1e-12), v = uniform(&rng)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    /// A classify queue of `items` items (true classes drawn from the seed, uniform over 0–9) plus `gold` gold items.
    package static func queue(name: String, items: Int, gold: Int, overlap: Int, goldRate: Double, policy: String?, seed: UInt64)
        -> (spec: QueueSpec, items: [QueueItem], truth: [String: Int]) {
        var rng = SplitMix64(seed: seed)
        var truth: [String: Int] = [:]
        var list: [QueueItem] = []
        for i in 0..<(items + gold) {
            let t = Int(rng.next() % 10)
            let path = String(format: "items/%05d.png", i)
            truth[path] = t
            list.append(QueueItem(path: path, gold: i >= items ? "{\"class\":\"\(t)\"}" : nil))
        }
        var spec = QueueSpec(name: name, task: .classify, overlap: overlap, goldRate: goldRate)
        spec.policy = policy
        return (spec, list, truth)
    }

    /// What one simulated annotator did.
    package struct Outcome: Sendable {
        package var annotator: String
        package var answers = 0
        /// Answers given before the block (nil: never blocked).
        package var blockedAfter: Int?
        package var reviewed = false
    }

    /// Every annotator works the queue at once, each on its own thread, through the same calls as
    /// `curate queue next` / `curate queue answer` (lease, answer, the policy after each answer), until nothing is
    /// left for them or they are blocked. `vet` false leaves out the policy (a baseline).
    /// Items that return after a block (the blocked annotator's answers no longer count) are answered as people
    /// come back: once everyone is done, each annotator not blocked looks again, until no one gets an item.
    /// With `lead`, a lead's `curate watch` runs beside them (following the queue and applying the policy every
    /// 50 ms, then once more at the end): it judges annotators on answers others give after their own last one.
    package static func work(store: any LabelingStore, queue: String, truth: [String: Int], seed: UInt64,
                             crowd: [Annotator] = annotators, vet: Bool = true, lead: Bool = true) throws -> [Outcome] {
        let board = Board(crowd.map { Outcome(annotator: $0.name) })
        let group = DispatchGroup()
        let watching = Board([])
        let leadDone = DispatchGroup()
        if vet && lead {
            leadDone.enter()
            Thread {
                defer { leadDone.leave() }
                do {
                    let spec = try store.queueSpec(queue)
                    guard let policy = try Vetting.policy(of: spec) else { return }
                    var monitor = TeamMonitor(queue: queue, overlap: spec.overlap)
                    repeat {
                        Thread.sleep(forTimeInterval: 0.05)
                        try Vetting.refresh(&monitor, policy: policy, store: store)
                    } while !watching.stopped
                    try Vetting.refresh(&monitor, policy: policy, store: store)
                } catch { board.fail("lead: \(error)") }
            }.start()
        }
        defer { watching.stop(); leadDone.wait() }
        for index in crowd.indices {
            group.enter()
            let a = crowd[index]
            Thread {
                session(a, index: index, round: 0, board: board, store: store, queue: queue, truth: truth, seed: seed, vet: vet)
                group.leave()
            }.start()
        }
        group.wait()
        var round: UInt64 = 1
        while board.failure == nil {
            var any = false
            for index in crowd.indices {
                any = session(crowd[index], index: index, round: round, board: board, store: store, queue: queue, truth: truth, seed: seed, vet: vet) || any
            }
            if !any { break }
            round += 1
        }
        watching.stop()
        leadDone.wait()
        if let failure = board.failure { throw StoreError(.internal, "simulated crowd: \(failure)") }
        return board.all
    }

    /// Outcomes shared by the annotators' threads.
    final class Board: @unchecked Sendable {
        private let lock = NSLock()
        private var outcomes: [Outcome]
        private(set) var failure: String?
        init(_ outcomes: [Outcome]) { self.outcomes = outcomes }
        var all: [Outcome] { lock.lock(); defer { lock.unlock() }; return outcomes }
        subscript(_ i: Int) -> Outcome {
            get { lock.lock(); defer { lock.unlock() }; return outcomes[i] }
            set { lock.lock(); outcomes[i] = newValue; lock.unlock() }
        }
        func fail(_ text: String) { lock.lock(); if failure == nil { failure = text }; lock.unlock() }
        private var done = false
        var stopped: Bool { lock.lock(); defer { lock.unlock() }; return done }
        func stop() { lock.lock(); done = true; lock.unlock() }
    }

    /// One annotator's session; returns whether they answered anything.
    @discardableResult
    static func session(_ annotator: Annotator, index: Int, round: UInt64, board: Board, store: any LabelingStore, queue: String,
                        truth: [String: Int], seed: UInt64, vet: Bool) -> Bool {
        var rng = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(index) &+ round &* 7919)
        var outcome = board[index]
        let before = outcome.answers
        guard outcome.blockedAfter == nil else { return false }
        do {
            while let item = try store.leaseNext(queue, annotator: annotator.name) {
                let (label, seconds) = answer(annotator, truth: truth[item.path] ?? 0, rng: &rng)
                do {
                    try store.storeAnswer(queue, path: item.path, annotator: annotator.name, answer: "{\"class\":\"\(label)\"}",
                                          seconds: seconds, lease: item.lease ?? "")
                } catch {
                    if error.kind == .locked { break }   // blocked meanwhile
                    throw error
                }
                outcome.answers += 1
                if vet, let d = try Vetting.afterAnswer(queue: queue, annotator: annotator.name, store: store) {
                    if d.action == .block { outcome.blockedAfter = outcome.answers; break }
                    if d.action == .review { outcome.reviewed = true }
                }
            }
        } catch {
            board.fail("\(annotator.name): \(error)")
        }
        board[index] = outcome
        return outcome.answers > before
    }
}
