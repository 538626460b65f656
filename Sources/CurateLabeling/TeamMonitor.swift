import CurateStore
import Foundation

package typealias QueueDecisionAction = QueueDecision.Action

/// A labeling team's work on one queue, kept up to date from the store's event log: counters per annotator and
/// per item that change with each answer, so following a queue costs what changed, not the queue's size. Feeds
/// `curate watch` and the vetting policy.
package struct TeamMonitor: Sendable {
    struct Given: Sendable {
        var annotator: String
        /// What two answers must share to agree (class or class set); nil for boxes, skips and flags.
        var key: String?
        var held: Bool
    }
    struct ItemState: Sendable {
        var goldKey: String?
        var isGold = false
        var need: Int
        var given: [Given] = []
        var counted: Int { given.reduce(0) { $0 + ($1.held ? 0 : 1) } }
    }
    /// Seconds per answer, in log-spaced buckets (5% wide): medians without keeping every time.
    struct Histogram: Sendable {
        var counts = [Int](repeating: 0, count: 400)
        var total = 0
        static func bucket(_ seconds: Double) -> Int { min(399, max(0, Int((log(max(seconds, 0.01) / 0.01) / log(1.05)).rounded(.down)))) }
        mutating func add(_ seconds: Double, _ step: Int = 1) { counts[Self.bucket(seconds)] += step; total += step }
        func median(minus other: Histogram? = nil) -> Double? {
            let n = total - (other?.total ?? 0)
            guard n > 0 else { return nil }
            var seen = 0
            for i in 0..<counts.count {
                seen += counts[i] - (other?.counts[i] ?? 0)
                if seen * 2 >= n { return 0.01 * pow(1.05, Double(i) + 0.5) }
            }
            return nil
        }
    }
    package struct Recent: Sendable, Codable {
        package var item: String
        package var answer: String
        package var gold: String?
        package var created: Date
    }
    struct Person: Sendable {
        var answers = 0, keyed = 0, goldAnswers = 0, goldCorrect = 0, compared = 0, agreed = 0
        /// reference → answer → count (references: gold answers, and what a majority of at least two others answered
        /// on the same item).
        var confusion: [String: [String: Int]] = [:]
        var goldConfusion: [String: [String: Int]] = [:]
        var seconds = Histogram()
        var first: Date?, last: Date?
        var runKey: String?, runLength = 0, runItems: Set<String> = [], runReferences = 0, runContradicted = 0
        var recent: [Recent] = []
        var lastGoldRate: Double?
        /// Every item they answered (an undone one may stay: lookups check).
        var paths: [String] = []
    }

    package let queue: String
    var items: [String: ItemState] = [:]
    var people: [String: Person] = [:]
    var team = Histogram()
    /// "a|b" (sorted) → disagreeing answer pairs between those classes.
    var disagreements: [String: Int] = [:]
    package private(set) var totalItems = 0, goldItems = 0, doneItems = 0, answersNeeded = 0
    package private(set) var answers = 0, goldAnswers = 0
    var recentTimes: [Date] = []
    package private(set) var decisions: [QueueDecision] = []
    package private(set) var blocked: Set<String> = []
    var overlap: Int
    // Following the store.
    var nextPosition = 0
    var eventCursor: Int64 = 0
    var decisionCursor: Int64 = 0
    var seenAbove: Set<Int64> = []
    var gapSince: [Int64: Date] = [:]
    /// Annotators whose figures changed since `takeChanged()`.
    var changed: Set<String> = []

    package init(queue: String, overlap: Int) {
        self.queue = queue
        self.overlap = overlap
    }

    // MARK: Feeding

    package mutating func addItem(_ item: QueueItem) {
        guard items[item.path] == nil else { return }
        let gold = item.gold.flatMap(Queues.agreementKey)
        let need = item.gold != nil ? 1 : (item.overlap ?? overlap)
        items[item.path] = ItemState(goldKey: gold, isGold: item.gold != nil, need: need)
        totalItems += 1
        if item.gold != nil { goldItems += 1 }
        answersNeeded += need
    }

    /// An answer given (`held` when its annotator is blocked).
    package mutating func add(_ a: QueueAnswer) {
        if items[a.path] == nil {
            // An item the monitor has not loaded (a context read): what the answer says about it.
            items[a.path] = ItemState(goldKey: a.goldAnswer.flatMap(Queues.agreementKey), isGold: a.isGold || a.goldAnswer != nil,
                                      need: a.isGold || a.goldAnswer != nil ? 1 : overlap)
        }
        guard var item = items[a.path], !item.given.contains(where: { $0.annotator == a.annotator }) else { return }
        let key = Queues.agreementKey(a.answer)
        let held = a.held || blocked.contains(a.annotator)
        // Taken out while it changes, so its dictionaries are not copied on write.
        var p = people.removeValue(forKey: a.annotator) ?? Person()
        p.answers += 1
        p.paths.append(a.path)
        p.seconds.add(a.seconds)
        if !held { team.add(a.seconds) }
        p.first = min(p.first ?? a.created.addingTimeInterval(-a.seconds), a.created.addingTimeInterval(-a.seconds))
        p.last = max(p.last ?? a.created, a.created)
        p.recent.append(Recent(item: a.path, answer: key ?? Self.describe(a.answer), gold: item.goldKey, created: a.created))
        if p.recent.count > 40 { p.recent.removeFirst(p.recent.count - 20) }
        if let key {
            p.keyed += 1
            if item.isGold, let gold = item.goldKey {
                p.goldAnswers += 1
                if gold == key { p.goldCorrect += 1 }
                p.goldConfusion[gold, default: [:]][key, default: 0] += 1
                p.confusion[gold, default: [:]][key, default: 0] += 1
            }
            // The run of one answer, and what others said on its items.
            if p.runKey == key { p.runLength += 1 } else { p.runKey = key; p.runLength = 1; p.runItems = []; p.runReferences = 0; p.runContradicted = 0 }
            p.runItems.insert(a.path)
            if let gold = item.goldKey { p.runReferences += 1; if gold != key { p.runContradicted += 1 } }
        }
        people[a.annotator] = p
        if !held, let key {
            for other in item.given where !other.held { pair(a.annotator, key, a.path, other.annotator, other.key, step: 1) }
        }
        let before = item.counted
        majorityReferences(item, step: -1)
        item.given.append(Given(annotator: a.annotator, key: key, held: held))
        majorityReferences(item, step: 1)
        items[a.path] = item
        if !held { counted(item, from: before, to: before + 1, at: a.created) }
        changed.insert(a.annotator)
    }

    /// An answer taken back.
    package mutating func remove(_ a: QueueAnswer) {
        guard var item = items[a.path], let index = item.given.firstIndex(where: { $0.annotator == a.annotator }) else { return }
        majorityReferences(item, step: -1)
        let given = item.given.remove(at: index)
        majorityReferences(item, step: 1)
        let before = item.counted + (given.held ? 0 : 1)
        if !given.held, let key = given.key {
            for other in item.given where !other.held { pair(a.annotator, key, a.path, other.annotator, other.key, step: -1) }
        }
        items[a.path] = item
        if !given.held { team.add(a.seconds, -1); counted(item, from: before, to: before - 1, at: nil) }
        if var p = people.removeValue(forKey: a.annotator) {
            p.answers -= 1
            p.seconds.add(a.seconds, -1)
            if let key = given.key {
                p.keyed -= 1
                if item.isGold, let gold = item.goldKey {
                    p.goldAnswers -= 1
                    if gold == key { p.goldCorrect -= 1 }
                    p.goldConfusion[gold, default: [:]][key, default: 0] -= 1
                    p.confusion[gold, default: [:]][key, default: 0] -= 1
                }
                if p.runKey == key, p.runItems.remove(a.path) != nil { p.runLength = max(0, p.runLength - 1) }
            }
            if let i = p.recent.lastIndex(where: { $0.item == a.path }) { p.recent.remove(at: i) }
            people[a.annotator] = p
        }
        changed.insert(a.annotator)
    }

    /// A decision recorded: a block holds the annotator's answers (their pairs leave the others' figures, their
    /// items need answers again); an unblock counts them again.
    package mutating func apply(_ d: QueueDecision) {
        decisions.append(d)
        changed.insert(d.annotator)
        switch d.action {
        case .block where !blocked.contains(d.annotator):
            blocked.insert(d.annotator)
            setHeld(d.annotator, true, at: d.created)
        case .unblock where blocked.contains(d.annotator):
            blocked.remove(d.annotator)
            setHeld(d.annotator, false, at: d.created)
        default: break
        }
    }

    mutating func setHeld(_ who: String, _ held: Bool, at time: Date) {
        guard let p = people[who] else { return }
        for path in Set(p.paths) {
            guard var item = items[path], let i = item.given.firstIndex(where: { $0.annotator == who }), item.given[i].held != held else { continue }
            let before = item.counted
            if let key = item.given[i].key {
                for other in item.given where other.annotator != who && !other.held { pair(who, key, path, other.annotator, other.key, step: held ? -1 : 1) }
            }
            majorityReferences(item, step: -1)
            item.given[i].held = held
            majorityReferences(item, step: 1)
            items[path] = item
            counted(item, from: before, to: item.counted, at: held ? nil : time)
        }
        if held { team.counts = zip(team.counts, people[who]!.seconds.counts).map { max(0, $0 - $1) }; team.total = max(0, team.total - people[who]!.seconds.total) } else {
            team.counts = zip(team.counts, people[who]!.seconds.counts).map { $0 + $1 }; team.total += people[who]!.seconds.total
        }
    }

    /// Each answer's reference on an item without gold: what a strict majority of at least two of the other
    /// (counted) answers say. Pairs alone would make one annotator's systematic error look like a confusion of
    /// everyone who answered beside them. Applied with step -1 before an item changes and +1 after.
    mutating func majorityReferences(_ item: ItemState, step: Int) {
        guard !item.isGold else { return }
        let keyed = item.given.filter { !$0.held && $0.key != nil }
        guard keyed.count >= 3 else { return }
        for (i, me) in keyed.enumerated() {
            var counts: [String: Int] = [:]
            for (j, other) in keyed.enumerated() where j != i { counts[other.key!, default: 0] += 1 }
            guard let (reference, n) = counts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }),
                  n >= 2, n * 2 > keyed.count - 1 else { continue }
            people[me.annotator, default: Person()].confusion[reference, default: [:]][me.key!, default: 0] += step
        }
    }

    /// Two annotators' answers on the same item, compared (step -1 takes a comparison back).
    mutating func pair(_ a: String, _ ka: String, _ path: String, _ b: String, _ kb: String?, step: Int) {
        guard let kb else { return }
        let same = ka == kb
        for (me, mine) in [(a, ka), (b, kb)] {
            var p = people.removeValue(forKey: me) ?? Person()
            p.compared += step
            if same { p.agreed += step }
            if p.runKey == mine, p.runItems.contains(path), items[path]?.goldKey == nil {
                p.runReferences += step
                if !same { p.runContradicted += step }
            }
            people[me] = p
            changed.insert(me)
        }
        if !same { disagreements[[ka, kb].sorted().joined(separator: "|"), default: 0] += step }
    }

    mutating func counted(_ item: ItemState, from before: Int, to after: Int, at time: Date?) {
        let need = item.need
        answersNeeded += max(0, need - after) - max(0, need - before)
        doneItems += (after >= need ? 1 : 0) - (before >= need ? 1 : 0)
        answers += after - before
        if item.isGold { goldAnswers += after - before }
        if let time, after > before {
            recentTimes.append(time)
            if recentTimes.count > 10_000 { recentTimes.removeFirst(recentTimes.count - 5000) }   // amortised: once per 5,000
        }
    }

    static func describe(_ answer: String) -> String {
        let object = Answers.object(answer)
        if object["skip"] != nil { return "(skip)" }
        if let flag = object["flag"] { return "(flag: \(flag))" }
        if let boxes = object["boxes"] as? [Any] { return "(\(boxes.count) boxes)" }
        if let review = object["review"] as? String { return "(\(review))" }
        return answer
    }

    /// The annotators whose figures changed since the last call.
    package mutating func takeChanged() -> Set<String> {
        defer { changed = [] }
        return changed
    }

    // MARK: Following a store

    /// Reads what changed in the store since the last call: new items, answers given or taken back, decisions.
    /// Returns whether anything did. Cost: the changes, not the queue.
    @discardableResult
    package mutating func follow(_ store: any QueueStore, now: Date = Date()) throws -> Bool {
        var any = false
        while true {
            let batch = try store.queueItems(queue, from: nextPosition, limit: 50_000)
            for (position, item) in batch { addItem(item); nextPosition = max(nextPosition, position + 1) }
            any = any || !batch.isEmpty
            if batch.count < 50_000 { break }
        }
        for d in try store.decisions(queue, after: decisionCursor) {
            apply(d)
            decisionCursor = max(decisionCursor, d.id)
            any = true
        }
        while true {
            let events = try store.queueEvents(queue, after: eventCursor, limit: 50_000)
            for e in events where !seenAbove.contains(e.id) {
                seenAbove.insert(e.id)
                switch e.kind {
                case .answer: add(e.answer)
                case .undo: remove(e.answer)
                }
                any = true
            }
            advanceCursor(now: now)
            if events.count < 50_000 { break }
        }
        return any
    }

    /// Moves the event cursor over ids seen in a row. A gap (a PostgreSQL transaction that took its id and has not
    /// committed, or rolled back) holds the cursor for up to 30 seconds, so a late commit is still read.
    mutating func advanceCursor(now: Date) {
        var next = eventCursor
        for id in seenAbove.sorted() {
            if id == next + 1 { next = id; continue }
            let since = gapSince[next + 1] ?? now
            gapSince[next + 1] = since
            if now.timeIntervalSince(since) > 30 { next = id; continue }
            break
        }
        if next != eventCursor {
            eventCursor = next
            seenAbove = seenAbove.filter { $0 > next }
            gapSince = gapSince.filter { $0.key > next }
        }
    }

    // MARK: Figures

    /// Answers per hour over the last ten minutes (or since the first answer, if later).
    package func pace(now: Date) -> Double? {
        guard let first = recentTimes.first else { return nil }
        let start = max(now.addingTimeInterval(-600), first)
        let count = recentTimes.reversed().prefix { $0 >= start }.count
        let window = max(60, now.timeIntervalSince(start))
        return count > 0 ? Double(count) / window * 3600 : nil
    }

    /// The class pairs people disagree on most: ("3", "8", pairs).
    package func disagreedClasses(limit: Int = 3) -> [(String, String, Int)] {
        disagreements.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map { entry in
            let parts = entry.key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "", entry.value)
        }
    }

    package var annotators: [String] { people.keys.sorted() }
}
