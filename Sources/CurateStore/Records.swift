import Foundation

/// A labeling queue: items leased to annotators one at a time, each answered by `overlap` different annotators.
package struct QueueSpec: Sendable, Equatable {
    package enum Task: String, Sendable, CaseIterable { case classify, multilabel, boxes, review }

    package var name: String
    package var task: Task
    /// How many different annotators answer each item.
    package var overlap: Int = 1
    /// The share of served items that are gold (known answer, not marked as such on screen).
    package var goldRate: Double = 0
    /// Seconds an unanswered lease holds an item before it returns to the queue.
    package var leaseSeconds: Double = 600
    package var instructions: String = ""
    /// Who may work this queue (its experts, for adjudication); nil: anyone.
    package var annotators: [String]?
    /// Who receives nothing from it (annotators measured as likely spam, or blocked by the vetting policy or a lead).
    package var blocked: [String] = []
    /// The vetting policy (YAML, `CurateLabeling.VettingPolicy`) applied while people work; nil: none.
    package var policy: String?

    package init(name: String, task: Task, overlap: Int = 1, goldRate: Double = 0, leaseSeconds: Double = 600, instructions: String = "",
                annotators: [String]? = nil, blocked: [String] = []) {
        self.name = name
        self.task = task
        self.overlap = overlap
        self.goldRate = goldRate
        self.leaseSeconds = leaseSeconds
        self.instructions = instructions
        self.annotators = annotators
        self.blocked = blocked
    }
}

/// One item of a queue: its path, its gold answer (hidden from annotators) and the model's suggestion, if any.
package struct QueueItem: Sendable, Equatable {
    package var path: String
    /// The known answer of a gold item (JSON, as answers are stored).
    package var gold: String?
    /// A suggestion to accept or change (JSON), e.g. a model's class and confidence.
    package var suggestion: String?
    /// This item's overlap when it differs from the queue's (uncertain items get more annotators).
    package var overlap: Int?
    /// The model's class for the item: annotators more accurate on it are served it first.
    package var predictedClass: String?
    /// An annotator who must not answer it (the one whose label is being questioned).
    package var excluded: String?
    /// The lease token, when the item was leased (`leaseNext`, `undoLastAnswer`): an answer must present it.
    package var lease: String?

    package init(path: String, gold: String? = nil, suggestion: String? = nil, overlap: Int? = nil, predictedClass: String? = nil, excluded: String? = nil) {
        self.path = path
        self.gold = gold
        self.suggestion = suggestion
        self.overlap = overlap
        self.predictedClass = predictedClass
        self.excluded = excluded
    }
}

/// A stored answer.
package struct QueueAnswer: Sendable, Equatable {
    package var path: String
    package var annotator: String
    /// JSON: `{"class": "cat"}`, `{"classes": [...]}`, `{"boxes": [...]}`, `{"skip": true}`, `{"flag": "note"}`.
    package var answer: String
    package var seconds: Double
    package var created: Date
    package var isGold: Bool
    /// Kept but not counted: its annotator is blocked, until a lead decides (excluded from coverage, consensus
    /// and exports).
    package var held = false
    /// The answer's number in its store (increasing; for matching events to answers).
    package var id: Int64 = 0
    /// The item's known answer, when it is a gold item and the read joined it (`annotatorContext`).
    package var goldAnswer: String?

    package init(path: String, annotator: String, answer: String, seconds: Double, created: Date, isGold: Bool, held: Bool = false, id: Int64 = 0) {
        self.path = path
        self.annotator = annotator
        self.answer = answer
        self.seconds = seconds
        self.created = created
        self.isGold = isGold
        self.held = held
        self.id = id
    }
}

/// A change to a queue's answers, in the order the store recorded it: what a lead's view follows incrementally.
package struct QueueEvent: Sendable, Equatable {
    package enum Kind: String, Sendable { case answer, undo }
    /// Increasing within a store (on PostgreSQL, not always in commit order: readers allow for late gaps).
    package var id: Int64
    package var kind: Kind
    /// The answer given, or the one taken back (`isGold` is not filled in: events do not join items).
    package var answer: QueueAnswer

    package init(id: Int64, kind: Kind, answer: QueueAnswer) {
        self.id = id
        self.kind = kind
        self.answer = answer
    }
}

/// A decision about an annotator's work in a queue, by the vetting policy or a lead, with its evidence.
package struct QueueDecision: Sendable, Equatable, Codable {
    package enum Action: String, Sendable, Codable, CaseIterable {
        /// No more items; their answers are held (kept, not counted) and their items go to others.
        case block
        /// Flagged for a lead to look at; they keep working.
        case review
        /// Back to work; held answers count again.
        case unblock
        /// A review flag cleared by a lead.
        case clear
    }
    package var id: Int64 = 0
    package var annotator: String
    package var action: Action
    /// In plain words, shown to the annotator when they are blocked.
    package var reason: String
    package var evidence: [String]
    /// `policy`, or the lead who decided.
    package var by: String
    package var created: Date

    package init(annotator: String, action: Action, reason: String, evidence: [String] = [], by: String, created: Date = Date()) {
        self.annotator = annotator
        self.action = action
        self.reason = reason
        self.evidence = evidence
        self.by = by
        self.created = created
    }
}

/// A queue's state.
package struct QueueSummary: Sendable, Equatable {
    package var spec: QueueSpec
    package var items: Int
    package var gold: Int
    /// Items with `overlap` answers (gold items need one).
    package var done: Int
    package var answers: Int
    package var activeLeases: Int
    package var annotators: [String]
    package var closed: Bool
}

/// An item held by an annotator.
package struct QueueLease: Sendable, Equatable {
    package var path: String
    package var annotator: String
    /// When it was leased (renewals keep it; nil for leases taken before this was recorded).
    package var leased: Date?
    package var expires: Date
}

/// Items for one queue, as a routing run adds them.
package struct QueueBatch: Sendable, Equatable {
    package var queue: String
    package var items: [QueueItem]

    package init(queue: String, items: [QueueItem]) {
        self.queue = queue
        self.items = items
    }
}

/// One routed item, as recorded.
package struct RouteRecord: Sendable, Equatable {
    package enum Decision: String, Sendable { case auto, human, audit, adjudication, secondOpinion = "second-opinion" }
    package var path: String
    package var decision: Decision
    /// The model's class (auto, audit, second opinion).
    package var predictedClass: String?
    package var confidence: Double?
    /// The queue the item went to (nil for auto-accepted items without audit).
    package var queue: String?

    package init(path: String, decision: Decision, predictedClass: String? = nil, confidence: Double? = nil, queue: String? = nil) {
        self.path = path
        self.decision = decision
        self.predictedClass = predictedClass
        self.confidence = confidence
        self.queue = queue
    }
}

/// One routing run to record: its summary, decisions, retired validation items and the items it queues.
package struct RouteRun: Sendable {
    package var model: String
    package var target: Double
    /// The run's outcome (JSON object), as `route --json` prints it.
    package var summary: String
    package var records: [RouteRecord]
    package var retire: [String]
    package var queued: [QueueBatch]

    package init(model: String, target: Double, summary: String, records: [RouteRecord], retire: [String], queued: [QueueBatch]) {
        self.model = model
        self.target = target
        self.summary = summary
        self.records = records
        self.retire = retire
        self.queued = queued
    }
}

/// What earlier routing runs left: decisions, retired validation items, suspended classes.
package struct RouteState: Sendable {
    package var runs: Int
    /// The target accuracy of the latest run.
    package var lastTarget: Double?
    package var items: [String: RouteRecord]
    package var retired: Set<String>
    /// Class → why auto-accepting it stopped.
    package var suspended: [String: String]
}

/// A recorded workflow run.
package struct WorkflowRun: Sendable, Equatable {
    package enum Status: String, Sendable { case running, paused, failed, done }
    package var id: Int
    package var workflow: String
    package var file: String
    /// Parameters as given (JSON object).
    package var params: String
    package var status: Status
    /// What the repository looked like to the steps (its HEAD, or the token of the run that made HEAD).
    package var token: String
    package var started: Date
    package var finished: Date?
    /// HEAD when the run finished.
    package var endRevision: String?
    package var message: String?
}

/// One step's execution within a run.
package struct WorkflowStepRecord: Sendable, Equatable {
    package enum Status: String, Sendable { case running, done, cached, paused, failed }
    package var run: Int
    package var step: String
    package var status: Status
    package var key: String
    package var started: Date
    package var finished: Date?
    /// Output path → content hash (JSON object).
    package var outputs: String?
    /// The step's process, while it runs (a resumed run stops a leftover one).
    package var pid: Int32?
    /// The identity of that process (boot id and start time), checked before it is ever signalled.
    package var process: String?
    package var message: String?

    package init(run: Int, step: String, status: Status, key: String, started: Date, finished: Date? = nil, outputs: String? = nil,
                pid: Int32? = nil, process: String? = nil, message: String? = nil) {
        self.run = run; self.step = step; self.status = status; self.key = key; self.started = started
        self.finished = finished; self.outputs = outputs; self.pid = pid; self.process = process; self.message = message
    }
}
