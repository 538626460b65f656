import ArgumentParser
import CurateCommands
import CurateCore
import CurateLabeling
import CurateStore
import Foundation

extension Bench {
    /// `curate watch`'s refresh on a big queue: a queue of `items` items already holding `answers` answers from
    /// `annotators` people (loaded in one transaction through the store's snapshot loader, triggers and all), then
    /// `refreshes` rounds of one new answer per annotator (through the normal lease/answer calls) followed by one
    /// refresh: read the changes, apply the standard policy, build the view. Prints JSON with the first load's
    /// time, the refresh times (p50, p95, max) and, for contrast, `queue show`'s full read.
    struct WatchBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "watch", abstract: "curate watch's refresh time on a big queue.")
        @Option(help: "postgres://… or sqlite:FOLDER (a .curate folder).") var store: String
        @Option var items = 1_000_000
        @Option var annotators = 50
        @Option(help: "Answers already in the queue.") var answers = 200_000
        @Option var refreshes = 20

        func open() throws -> any LabelingStore { try openStore(store) }

        func run() async throws {
            try await reportingErrors {
                let target = try open()
                let name = "watch-bench"
                var snapshot = StoreSnapshot()
                let now = Date().timeIntervalSince1970 - 3600
                snapshot.rows["queues"] = [[.text(name), .text("classify"), .int(3), .double(0.1), .double(600), .text(""), .double(now), .null, .null, .null,
                                            .text(VettingPolicy.standardText)]]
                var rng = SplitMix64(seed: 1)
                var truth: [Int] = []
                truth.reserveCapacity(items)
                snapshot.rows["queue_items"] = (0..<items).map { i in
                    let t = Int(rng.next() % 10)
                    truth.append(t)
                    return [.text(String(format: "images/%07d.png", i)), .int(Int64(i)), i % 10 == 0 ? .text("{\"class\":\"\(t)\"}") : .null, .null, .null, .null, .null]
                        .reduced(name)
                }
                // Answers: item by item, three annotators each, the careful majority of the simulated crowd.
                var answerRows: [[StoreValue]] = []
                answerRows.reserveCapacity(answers)
                var id: Int64 = 1
                var item = 0
                while answerRows.count < answers {
                    for k in 0..<3 where answerRows.count < answers {
                        let who = "annotator-\((item * 3 + k) % annotators)"
                        let label = rng.next() % 10 < 9 ? truth[item] : Int(rng.next() % 10)
                        answerRows.append([.int(id), .text(name), .text(String(format: "images/%07d.png", item)), .text(who), .text("{\"class\":\"\(label)\"}"),
                                           .double(3 + Double(rng.next() % 200) / 100), .double(now + Double(id) * 0.01), .int(0)])
                        id += 1
                    }
                    item += 1
                }
                snapshot.rows["queue_answers"] = answerRows
                let loadStart = ContinuousClock.now
                try target.load(snapshot, expecting: snapshot.figures)
                let loaded = (ContinuousClock.now - loadStart).seconds

                let policy = try VettingPolicy(yaml: VettingPolicy.standardText, source: "standard")
                var monitor = TeamMonitor(queue: name, overlap: 3)
                var t = ContinuousClock.now
                try Vetting.refresh(&monitor, policy: policy, store: target)
                _ = WatchReport(monitor: monitor, policy: policy, hasPolicy: true, refreshMilliseconds: 0)
                let firstLoad = (ContinuousClock.now - t).seconds
                var times: [Double] = []
                for _ in 0..<refreshes {
                    for a in 0..<annotators {
                        let who = "annotator-\(a)"
                        guard let next = try target.leaseNext(name, annotator: who) else { continue }
                        let index = Int(next.path.dropFirst("images/".count).dropLast(4)) ?? 0
                        try target.storeAnswer(name, path: next.path, annotator: who, answer: "{\"class\":\"\(truth[index])\"}", seconds: 4, lease: next.lease ?? "")
                    }
                    t = ContinuousClock.now
                    try Vetting.refresh(&monitor, policy: policy, store: target)
                    _ = WatchReport(monitor: monitor, policy: policy, hasPolicy: true, refreshMilliseconds: 0)
                    times.append((ContinuousClock.now - t).seconds * 1000)
                }
                t = ContinuousClock.now
                _ = try Queues.report(name, store: target)
                let show = (ContinuousClock.now - t).seconds
                let sorted = times.sorted()
                Console.out(try jsonText(["store": store.hasPrefix("sqlite:") ? "sqlite" : "postgres", "items": items, "annotators": annotators,
                                          "answers": answers, "load_s": loaded, "first_refresh_s": firstLoad,
                                          "refresh_p50_ms": sorted[sorted.count / 2], "refresh_p95_ms": sorted[min(sorted.count - 1, sorted.count * 95 / 100)],
                                          "refresh_max_ms": sorted.last ?? 0, "queue_show_s": show, "monitor_answers": monitor.answers] as [String: Any]))
            }
        }
    }

    /// Detection delay: the simulated crowd (3 frauds among 8) works `seeds` queues concurrently under a policy;
    /// reports per fraud the answers given before the block, and how many honest annotators were blocked.
    /// `--policy appen` is the fixed-threshold rule of Appen/Figure Eight's work mode — block when accuracy on test
    /// questions is below 70% once 10 have been answered — at the queue's fixed gold rate; `--policy standard` is
    /// Curate's (Wilson bounds, one-class runs, agreement, adaptive gold). Prints JSON.
    struct VettingBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "vetting", abstract: "Spam detection delay and false blocks on simulated crowds.")
        @Option(help: "standard or appen.") var policy = "standard"
        @Option var seeds = 20
        @Option var items = 400
        @Option var gold = 40
        @Option(help: "Where the throwaway stores go.") var scratch = "/dev/shm"

        func run() async throws {
            try await reportingErrors {
                let text: String
                switch policy {
                case "standard": text = VettingPolicy.standardText
                case "appen": text = "honest_confusion_guard: false\nrules:\n  - name: below 70% on test questions\n    when: gold_accuracy < 0.7\n    min_gold: 10\n    action: block\n"
                default: throw ValidationError("--policy standard or appen")
                }
                var delays: [String: [Int]] = [:], missed: [String: Int] = [:], honestBlocked: [String] = []
                var goldAnswers = 0, allAnswers = 0, reviewed: [String: Int] = [:], reviews: [String] = []
                for seed in 1...UInt64(seeds) {
                    let folder = scratch + "/curate-vetting-\(UUID().uuidString.prefix(8))"
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    defer { try? FileManager.default.removeItem(atPath: folder) }
                    let store = try SQLiteStore.open(curateDirectory: folder)
                    let q = SimulatedCrowd.queue(name: "crowd", items: items, gold: gold, overlap: 3, goldRate: 0.1, policy: text, seed: seed)
                    try store.createQueue(q.spec, items: q.items)
                    let outcomes = try SimulatedCrowd.work(store: store, queue: "crowd", truth: q.truth, seed: seed)
                    let decisions = try store.decisions("crowd", after: 0)
                    for a in SimulatedCrowd.annotators {
                        let o = outcomes.first { $0.annotator == a.name }!
                        let blocked = decisions.contains { $0.annotator == a.name && $0.action == .block }
                        if let review = decisions.first(where: { $0.annotator == a.name && $0.action == .review }) {
                            reviewed[a.name, default: 0] += 1
                            if !a.isFraud { reviews.append("\(a.name)@\(seed): \(review.evidence.joined(separator: "; "))") }
                        }
                        if a.isFraud {
                            if blocked { delays[a.name, default: []].append(o.blockedAfter ?? o.answers) } else { missed[a.name, default: 0] += 1 }
                        } else if blocked { honestBlocked.append("\(a.name)@\(seed)") }
                    }
                    let all = try store.queueAnswers("crowd", includeHeld: true)
                    goldAnswers += all.filter(\.isGold).count
                    allAnswers += all.count
                }
                func median(_ xs: [Int]) -> Double {
                    let s = xs.sorted()
                    guard !s.isEmpty else { return .nan }
                    return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
                }
                var result: [String: Any] = ["policy": policy, "seeds": seeds, "gold_share": Double(goldAnswers) / Double(max(allAnswers, 1)),
                                             "honest_blocked": honestBlocked, "honest_false_block_rate": Double(honestBlocked.count) / Double(5 * seeds),
                                             "reviewed": reviewed, "honest_reviews": reviews]
                for fraud in ["fay", "gus", "hal"] {
                    result["\(fraud)_median_answers_before_block"] = median(delays[fraud] ?? [])
                    result["\(fraud)_not_blocked"] = missed[fraud] ?? 0
                }
                result["all_frauds_median_answers_before_block"] = median(delays.values.flatMap { $0 })
                Console.out(try jsonText(result))
            }
        }
    }
}

extension Array where Element == StoreValue {
    /// An item row for `queue_items` (queue, path, position, gold, suggestion, overlap, class, excluded) from the
    /// values after the queue's name.
    fileprivate func reduced(_ queue: String) -> [StoreValue] { [.text(queue)] + self }
}
