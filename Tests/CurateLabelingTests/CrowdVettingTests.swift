import CurateCore
@testable import CurateLabeling
import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// The bundled simulated crowd (8 annotators: 3 frauds, 1 honest confusion) answering a queue concurrently
/// under the standard vetting policy.
@Suite struct CrowdVettingTests {
    /// What one seed's run left.
    struct Run {
        var outcomes: [String: SimulatedCrowd.Outcome]
        var decisions: [QueueDecision]
        var coverageGaps: [String]
        var goldShare: Double
        func blocked(_ who: String) -> QueueDecision? { decisions.first { $0.annotator == who && $0.action == .block } }
        func reviewed(_ who: String) -> Bool { decisions.contains { $0.annotator == who && $0.action == .review } }
    }

    static func run(seed: UInt64, store: any LabelingStore, items: Int = 150) throws -> Run {
        let q = SimulatedCrowd.queue(name: "crowd", items: items, gold: 40, overlap: 3, goldRate: 0.1, policy: VettingPolicy.standardText, seed: seed)
        try store.createQueue(q.spec, items: q.items)
        let outcomes = try SimulatedCrowd.work(store: store, queue: "crowd", truth: q.truth, seed: seed)
        let counted = try store.queueAnswers("crowd")
        var per: [String: Int] = [:]
        for a in counted where !a.isGold { per[a.path, default: 0] += 1 }
        let gaps = q.items.filter { $0.gold == nil && per[$0.path, default: 0] < 3 }.map(\.path)
        let all = try store.queueAnswers("crowd", includeHeld: true)
        return Run(outcomes: Dictionary(uniqueKeysWithValues: outcomes.map { ($0.annotator, $0) }), decisions: try store.decisions("crowd", after: 0),
                   coverageGaps: gaps, goldShare: Double(all.filter(\.isGold).count) / Double(max(all.count, 1)))
    }

    /// The answers a spammer may give before the standard policy must have blocked them: 20 gold answers at the
    /// new-annotator gold rate (0.3) — twice what the gold rule needs — or the 20-answer run plus 10 for the
    /// references to arrive.
    static let spamBound = Int((2 * 10 / 0.3).rounded(.up))

    @Test(arguments: Array(UInt64(1)...20))
    func spammersBlockedHonestNever(seed: UInt64) throws {
        let scratch = ScratchDirectory()
        let store = try SQLiteStore.open(curateDirectory: scratch.path)
        let run = try Self.run(seed: seed, store: store)
        for fraud in ["fay", "gus", "hal"] {
            let block = try #require(run.blocked(fraud), "seed \(seed): \(fraud) was never blocked")
            #expect(block.by == "policy")
            let given = run.outcomes[fraud]?.answers ?? 0
            #expect(given <= Self.spamBound, "seed \(seed): \(fraud) gave \(given) answers before the block (bound \(Self.spamBound)): \(block.evidence)")
        }
        for honest in ["ana", "ben", "cleo", "dev", "eli"] {
            #expect(run.blocked(honest) == nil, "seed \(seed): \(honest) was blocked: \(run.blocked(honest)?.evidence ?? [])")
        }
        #expect(run.coverageGaps.isEmpty, "seed \(seed): items without 3 counted answers: \(run.coverageGaps.prefix(5))")
        #expect(run.goldShare <= 0.1 + 0.05, "seed \(seed): gold share \(run.goldShare) over the 0.1 budget")
    }
}

/// At the bundled crowd's size (400 items), the honest confusion has the evidence it needs: eli goes to review.
@Suite struct HonestConfusionTests {
    @Test(arguments: [UInt64(101), 102])
    func eliIsReviewedNeverBlocked(seed: UInt64) throws {
        let scratch = ScratchDirectory()
        let store = try SQLiteStore.open(curateDirectory: scratch.path)
        let run = try CrowdVettingTests.run(seed: seed, store: store, items: 400)
        var monitor = TeamMonitor(queue: "crowd", overlap: 3)
        try monitor.follow(store)
        let standing = monitor.standing("eli", policy: Watch.defaultPolicy)
        #expect(run.reviewed("eli"), "seed \(seed): eli's 3→8 confusion did not reach review: \(standing) \(monitor.confusions("eli"))")
        let evidence = run.decisions.first { $0.annotator == "eli" && $0.action == .review }?.evidence ?? []
        #expect(evidence.first?.contains("3 read as 8") == true, "seed \(seed): \(evidence)")
        for honest in ["ana", "ben", "cleo", "dev", "eli"] { #expect(run.blocked(honest) == nil, "seed \(seed): \(honest) blocked") }
        for fraud in ["fay", "gus", "hal"] { #expect(run.blocked(fraud) != nil, "seed \(seed): \(fraud) not blocked") }
        // The careful annotators are not flagged either.
        for careful in ["ana", "ben", "cleo", "dev"] { #expect(!run.reviewed(careful), "seed \(seed): \(careful) flagged: \(run.decisions.filter { $0.annotator == careful })") }
    }
}

/// The same crowd on a shared PostgreSQL store (the answering connections may vet: they are the schema's owner).
@Suite struct PostgresCrowdVettingTests {
    @Test(arguments: [UInt64(3), 11])
    func spammersBlockedOnPostgres(seed: UInt64) throws {
        let store = try PostgresStore(try PostgresLocation(url: try PostgresServer.newDatabase()))
        let run = try CrowdVettingTests.run(seed: seed, store: store)
        for fraud in ["fay", "gus", "hal"] { #expect(run.blocked(fraud) != nil, "seed \(seed): \(fraud) not blocked") }
        for honest in ["ana", "ben", "cleo", "dev", "eli"] { #expect(run.blocked(honest) == nil, "seed \(seed): \(honest) blocked") }
        #expect(run.coverageGaps.isEmpty)
    }
}
