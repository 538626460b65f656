import Foundation

/// Labeling queues: items, leases, answers, gold, who may work them. Every implementation keeps the same rules
/// (`QueueRules`): a lease is claimed in one transaction and carries a token; an answer is accepted only with the
/// annotator's current token (a fencing token), so two sessions, two machines or a crashed session can never
/// count an item twice.
package protocol QueueStore: Sendable {
    /// Creates a queue over `items` (their order is the serving order). An empty queue (`allowEmpty`) is filled
    /// later, by `addQueueItems` or routing.
    func createQueue(_ spec: QueueSpec, items: [QueueItem], allowEmpty: Bool) throws(StoreError)
    /// Adds items to an open queue (those already in it are left as they are); returns how many were added.
    func addQueueItems(_ name: String, items: [QueueItem]) throws(StoreError) -> Int
    /// Sets who may work a queue (nil: anyone) and who receives nothing from it.
    func setQueueAccess(_ name: String, annotators: [String]?, blocked: [String]) throws(StoreError)
    /// Replaces the annotators' measured accuracy per class: each is served first the classes they do best.
    func setQueueSkills(_ name: String, _ skills: [String: [String: Double]]) throws(StoreError)
    /// Every queue's name, sorted.
    func queueNames() throws(StoreError) -> [String]
    func queueSummary(_ name: String, now: Date) throws(StoreError) -> QueueSummary
    /// The live leases of a queue, oldest first: who holds which item since when.
    func activeLeases(_ name: String, now: Date) throws(StoreError) -> [QueueLease]
    /// Closes a queue: nothing more is leased or answered; leases are dropped.
    func closeQueue(_ name: String) throws(StoreError)
    /// Leases the next item to `annotator` (or returns the one they already hold), with a fresh token: an item
    /// they have not answered, with fewer than its overlap of answers plus other annotators' live leases; a gold
    /// item instead, at the queue's gold rate. Respects experts-only queues, blocked and excluded annotators and
    /// skills order. nil when nothing is left for them.
    func leaseNext(_ name: String, annotator: String, now: Date) throws(StoreError) -> QueueItem?
    /// Extends the annotator's lease on an item while they look at it; returns the new expiry.
    /// - Throws: `.conflict` when the token is no longer the current one (the lease expired and moved on).
    func renewLease(_ name: String, path: String, annotator: String, lease: String, now: Date) throws(StoreError) -> Date
    /// The items `leaseNext` would serve this annotator next (a few non-gold items and the next gold one),
    /// without leasing them: for prefetching.
    func upcoming(_ name: String, annotator: String, limit: Int, now: Date) throws(StoreError) -> [String]
    /// Stores an answer and releases the lease, durably, in one transaction. The answer must present the
    /// annotator's current lease token on the item. An answer whose lease expired after the item got all its
    /// answers from others is kept as late (`lateAnswers`) and not counted.
    @discardableResult
    func storeAnswer(_ name: String, path: String, annotator: String, answer: String, seconds: Double, lease: String,
                     now: Date) throws(StoreError) -> AnswerOutcome
    /// Answers that came too late to count.
    func lateAnswers(_ name: String) throws(StoreError) -> [QueueAnswer]
    /// Every item of a queue, in serving order.
    func queueItems(_ name: String) throws(StoreError) -> [QueueItem]
    /// Takes back one of the annotator's answers — the one on `path`, or their latest when `path` is nil — and
    /// leases its item to them again (the item they held goes back to the queue); returns it (nil if there is none).
    func reopenAnswer(_ name: String, annotator: String, path: String?, now: Date) throws(StoreError) -> QueueItem?
    /// One annotator's progress in a queue: the answers they gave (held ones too), and the items they could still
    /// answer (not gold, not answered by them, still short of their answers).
    func annotatorProgress(_ name: String, annotator: String) throws(StoreError) -> (answers: Int, open: Int)
    /// Every answer of a queue, in the order they were given; held answers (of blocked annotators) only with
    /// `includeHeld`.
    func queueAnswers(_ name: String, includeHeld: Bool) throws(StoreError) -> [QueueAnswer]

    // Vetting: what a lead's view and the vetting policy read and decide.

    /// A queue's settings alone (no counting: cheap at any size).
    func queueSpec(_ name: String) throws(StoreError) -> QueueSpec
    /// Sets (nil: removes) the queue's vetting policy (YAML text, checked by the caller).
    func setQueuePolicy(_ name: String, policy: String?) throws(StoreError)
    /// Answers given and taken back after event `after`, oldest first, at most `limit`: a lead's view follows a
    /// queue at a cost that depends on what changed, not on the queue's size.
    func queueEvents(_ name: String, after: Int64, limit: Int) throws(StoreError) -> [QueueEvent]
    /// Items at serving position `from` or later, with their positions, at most `limit` (new items since a view
    /// last looked).
    func queueItems(_ name: String, from position: Int, limit: Int) throws(StoreError) -> [(position: Int, item: QueueItem)]
    /// One annotator's answers, the other answers on the items they answered, and the queue's latest `recent`
    /// answers (for the team's pace), without duplicates: what judging one annotator needs.
    func annotatorContext(_ name: String, annotator: String, recent: Int) throws(StoreError) -> [QueueAnswer]
    /// Records a decision and applies it in one transaction: a block adds the annotator to the blocked list,
    /// holds their answers (their items return to others) and drops their leases; an unblock undoes that. nil
    /// when it would change nothing (blocking someone blocked, unblocking someone who is not, a second review
    /// flag with no decision in between).
    func recordDecision(_ name: String, _ decision: QueueDecision) throws(StoreError) -> QueueDecision?
    /// The decisions recorded after `after`, oldest first (an annotator on a shared store sees their own).
    func decisions(_ name: String, after: Int64) throws(StoreError) -> [QueueDecision]
    /// Each annotator's gold rate (adaptive gold), replacing the queue's for them when leasing.
    func setGoldRates(_ name: String, _ rates: [String: Double]) throws(StoreError)
}

/// What became of an answer.
package enum AnswerOutcome: Sendable, Equatable {
    /// Stored and counted.
    case stored
    /// Its lease had expired and the item got its answers from others meanwhile: kept as late, not counted.
    case late
}

/// What routing runs decided and retired, and the classes their audits suspended.
package protocol RoutingStore: Sendable {
    func routeState() throws(StoreError) -> RouteState
    /// Records a routing run in one transaction: its summary, the decisions, the retired validation items and the
    /// items added to queues (all or nothing). Returns the run's number.
    @discardableResult
    func recordRoute(_ run: RouteRun, now: Date) throws(StoreError) -> Int
    /// Stops (or, with nil reason, resumes) auto-accepting a class.
    func setRouteSuspended(_ className: String, reason: String?, now: Date) throws(StoreError)
}

/// Workflow runs and their steps: the cache that lets a rerun skip what has not changed and `--resume` continue.
package protocol WorkflowRunStore: Sendable {
    func startWorkflowRun(workflow: String, file: String, params: String, token: String, now: Date) throws(StoreError) -> Int
    func finishWorkflowRun(_ id: Int, status: WorkflowRun.Status, message: String?, endRevision: String?, now: Date) throws(StoreError)
    /// Marks a paused, failed or killed run as running again (for --resume).
    func reopenWorkflowRun(_ id: Int) throws(StoreError)
    func recordWorkflowStep(_ record: WorkflowStepRecord) throws(StoreError)
    func workflowRuns(workflow: String?) throws(StoreError) -> [WorkflowRun]
    func workflowSteps(run: Int) throws(StoreError) -> [WorkflowStepRecord]
    /// The latest finished (done) execution of a step of this workflow, in any run: the cache entry.
    func lastDoneStep(workflow: String, step: String) throws(StoreError) -> WorkflowStepRecord?
}

/// Where a repository's labeling state lives: queues, answers, routing records and workflow runs — everything
/// people and runs produce between commits. The embedded default is `SQLiteStore` (`.curate/labeling.sqlite`).
package protocol LabelingStore: QueueStore, RoutingStore, WorkflowRunStore {
    /// Where it is, for messages (a path, or a server address without credentials).
    var location: String { get }
    /// Who is answering. The embedded store takes the `--annotator` given (one machine, one trust domain); a
    /// PostgreSQL store answers as the database role of the connection, and only a lead may name someone else.
    func annotator(requested: String?) throws(StoreError) -> String
    /// Every row of the state (`StoreSnapshot.tables`), read in one transaction.
    func snapshot() throws(StoreError) -> StoreSnapshot
    /// Writes a snapshot into this (empty) store in one transaction, reads it back and commits only when every
    /// table's count and checksum equal `expected`.
    func load(_ snapshot: StoreSnapshot, expecting expected: [TableFigures]) throws(StoreError)
    /// Calls `handler` (with the attempt's number) before each retry after the connection to a server was lost,
    /// so a session can say "reconnecting…" while it waits. The embedded store never reconnects.
    func onReconnect(_ handler: @escaping @Sendable (Int) -> Void)
    /// Whether this connection may read everyone's answers and decide about annotators (always on the embedded
    /// store; a lead on PostgreSQL): answering processes vet the team after each answer only then.
    func mayVet() -> Bool
    /// Whether a session with nothing left should look again: on PostgreSQL when the queue got new items or an
    /// item back (`LISTEN`/`NOTIFY`), or every half minute (leases expire silently); on the local file, always
    /// (leasing there is a read of a local file).
    func workMayHaveArrived(in queue: String, now: Date) -> Bool
}

extension LabelingStore {
    package func mayVet() -> Bool { true }
    package func onReconnect(_ handler: @escaping @Sendable (Int) -> Void) {}
    package func workMayHaveArrived(in queue: String, now: Date) -> Bool { true }
}

extension QueueStore {
    package func createQueue(_ spec: QueueSpec, items: [QueueItem]) throws(StoreError) {
        try createQueue(spec, items: items, allowEmpty: false)
    }
    package func queueSummary(_ name: String) throws(StoreError) -> QueueSummary { try queueSummary(name, now: Date()) }
    package func queueSummaries(now: Date = Date()) throws(StoreError) -> [QueueSummary] {
        var result: [QueueSummary] = []
        for name in try queueNames() { result.append(try queueSummary(name, now: now)) }
        return result
    }
    package func leaseNext(_ name: String, annotator: String) throws(StoreError) -> QueueItem? { try leaseNext(name, annotator: annotator, now: Date()) }
    package func upcoming(_ name: String, annotator: String, limit: Int = 2) throws(StoreError) -> [String] {
        try upcoming(name, annotator: annotator, limit: limit, now: Date())
    }
    @discardableResult
    package func storeAnswer(_ name: String, path: String, annotator: String, answer: String, seconds: Double, lease: String) throws(StoreError) -> AnswerOutcome {
        try storeAnswer(name, path: path, annotator: annotator, answer: answer, seconds: seconds, lease: lease, now: Date())
    }
    /// Takes back the annotator's latest answer and leases its item to them again.
    package func undoLastAnswer(_ name: String, annotator: String) throws(StoreError) -> QueueItem? {
        try reopenAnswer(name, annotator: annotator, path: nil, now: Date())
    }
    /// The answers that count (held ones left out).
    package func queueAnswers(_ name: String) throws(StoreError) -> [QueueAnswer] { try queueAnswers(name, includeHeld: false) }
    /// The block in force for an annotator, if any: the latest block not undone since.
    package func activeBlock(_ name: String, annotator: String) throws(StoreError) -> QueueDecision? {
        var block: QueueDecision?
        for d in try decisions(name, after: 0) where d.annotator == annotator {
            if d.action == .block { block = d } else if d.action == .unblock { block = nil }
        }
        return block
    }
}

extension RoutingStore {
    @discardableResult
    package func recordRoute(_ run: RouteRun) throws(StoreError) -> Int { try recordRoute(run, now: Date()) }
    package func setRouteSuspended(_ className: String, reason: String?) throws(StoreError) { try setRouteSuspended(className, reason: reason, now: Date()) }
}

extension WorkflowRunStore {
    package func startWorkflowRun(workflow: String, file: String, params: String, token: String) throws(StoreError) -> Int {
        try startWorkflowRun(workflow: workflow, file: file, params: params, token: token, now: Date())
    }
    package func finishWorkflowRun(_ id: Int, status: WorkflowRun.Status, message: String?, endRevision: String?) throws(StoreError) {
        try finishWorkflowRun(id, status: status, message: message, endRevision: endRevision, now: Date())
    }
    package func workflowRuns() throws(StoreError) -> [WorkflowRun] { try workflowRuns(workflow: nil) }
}

/// The rules every queue store applies before it touches storage, so implementations cannot drift apart.
package enum QueueRules {
    /// Annotator ids: one line of printable text without ':' (it separates `annotator:ID` in label sources).
    package static func checkAnnotator(_ annotator: String) throws(StoreError) {
        guard !annotator.trimmingCharacters(in: .whitespaces).isEmpty, annotator.count <= 100,
              !annotator.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == ":" || $0.properties.generalCategory == .lineSeparator || $0.properties.generalCategory == .paragraphSeparator })
        else {
            throw StoreError(.usage, "annotator '\(annotator.unicodeScalars.map { $0.value < 0x20 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())': ids are one line of up to 100 characters, not empty, without control characters or ':'")
        }
    }

    /// Checks a new queue: its name, numbers and items.
    package static func checkNew(_ spec: QueueSpec, items: [QueueItem], allowEmpty: Bool) throws(StoreError) {
        guard !spec.name.isEmpty, spec.name.count <= 100, spec.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw StoreError(.usage, "\(spec.name): queue names use letters, digits, '.', '_' and '-'")
        }
        guard spec.overlap >= 1, (0...1).contains(spec.goldRate), spec.leaseSeconds > 0 else {
            throw StoreError(.usage, "\(spec.name): overlap must be ≥ 1, gold rate within [0, 1], lease time positive")
        }
        guard !items.isEmpty || allowEmpty else { throw StoreError(.usage, "\(spec.name): no items to queue") }
        var seen = Set<String>()
        for item in items where !seen.insert(item.path).inserted { throw StoreError(.usage, "\(spec.name): \(item.path) is listed twice") }
    }

    /// Checks the time an answer took.
    package static func checkSeconds(_ seconds: Double) throws(StoreError) {
        guard seconds.isFinite, seconds >= 0, seconds < 1e7 else {
            throw StoreError(.usage, "seconds spent must be a finite number of seconds ≥ 0, not \(seconds)")
        }
    }

    /// Whether the annotator's draw at this point of their work is a gold item: a deterministic draw per
    /// (annotator, answers so far), so a resumed session — on any machine — serves the same mix.
    package static func wantsGold(annotator: String, answered: Int, rate: Double) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(annotator)#\(answered)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Double(hash % 1_000_000) / 1_000_000 < rate
    }

    /// A new lease token.
    package static func newToken() -> String { UUID().uuidString.lowercased() }

    static func unknownQueue(_ name: String, known: [String]) -> StoreError {
        StoreError(.notFound, "no queue named \(name)" + (known.isEmpty ? " (there are none: curate queue create)" : " (queues: \(known.joined(separator: ", ")))"))
    }
    static func closed(_ name: String) -> StoreError { StoreError(.usage, "queue \(name) is closed") }
    /// An annotator whose work is paused (blocked): said in plain words, with the reason.
    package static func paused(_ name: String, annotator: String, reason: String?) -> StoreError {
        StoreError(.locked, "\(annotator)'s work in queue \(name) is paused for review" + (reason.map { ": \($0)" } ?? "")
            + "; the answers given so far are kept, and a lead will decide (curate queue unblock)")
    }
    /// A decision's evidence as stored (one JSON array of strings).
    package static func evidenceText(_ evidence: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(evidence), as: UTF8.self)) ?? "[]"
    }
    package static func evidence(_ text: String) -> [String] { (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? [] }
    /// Whether a decision changes anything, given whether the annotator is blocked and their latest decision.
    package static func changes(_ action: QueueDecision.Action, blocked: Bool, latest: QueueDecision.Action?) -> Bool {
        switch action {
        case .block: return !blocked
        case .unblock: return blocked
        case .review: return !blocked && latest != .review
        case .clear: return !blocked && latest == .review
        }
    }

    /// Adaptive gold rates are kept within [0, 1].
    package static func checkRate(_ rate: Double, _ who: String) throws(StoreError) {
        guard rate.isFinite, (0...1).contains(rate) else { throw StoreError(.usage, "gold rate for \(who) must be within [0, 1], not \(rate)") }
    }
}
