import Foundation

/// A labeling queue: items leased to annotators one at a time, each answered by `overlap` different annotators.
public struct QueueSpec: Sendable, Equatable {
    public enum Task: String, Sendable, CaseIterable { case classify, multilabel, boxes, review }

    public var name: String
    public var task: Task
    /// How many different annotators answer each item.
    public var overlap: Int = 1
    /// The share of served items that are gold (known answer, not marked as such on screen).
    public var goldRate: Double = 0
    /// Seconds an unanswered lease holds an item before it returns to the queue.
    public var leaseSeconds: Double = 600
    public var instructions: String = ""
    /// Who may work this queue (its experts, for adjudication); nil: anyone.
    public var annotators: [String]?
    /// Who receives nothing from it (annotators measured as likely spam).
    public var blocked: [String] = []

    public init(name: String, task: Task, overlap: Int = 1, goldRate: Double = 0, leaseSeconds: Double = 600, instructions: String = "",
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
public struct QueueItem: Sendable, Equatable {
    public var path: String
    /// The known answer of a gold item (JSON, as answers are stored).
    public var gold: String?
    /// A suggestion to accept or change (JSON), e.g. a model's class and confidence.
    public var suggestion: String?
    /// This item's overlap when it differs from the queue's (uncertain items get more annotators).
    public var overlap: Int?
    /// The model's class for the item: annotators more accurate on it are served it first.
    public var predictedClass: String?
    /// An annotator who must not answer it (the one whose label is being questioned).
    public var excluded: String?
    /// The lease token, when the item was leased (`leaseNext`, `undoLastAnswer`): an answer must present it.
    public var lease: String?

    public init(path: String, gold: String? = nil, suggestion: String? = nil, overlap: Int? = nil, predictedClass: String? = nil, excluded: String? = nil) {
        self.path = path
        self.gold = gold
        self.suggestion = suggestion
        self.overlap = overlap
        self.predictedClass = predictedClass
        self.excluded = excluded
    }
}

/// A stored answer.
public struct QueueAnswer: Sendable, Equatable {
    public var path: String
    public var annotator: String
    /// JSON: `{"class": "cat"}`, `{"classes": [...]}`, `{"boxes": [...]}`, `{"skip": true}`, `{"flag": "note"}`.
    public var answer: String
    public var seconds: Double
    public var created: Date
    public var isGold: Bool

    public init(path: String, annotator: String, answer: String, seconds: Double, created: Date, isGold: Bool) {
        self.path = path
        self.annotator = annotator
        self.answer = answer
        self.seconds = seconds
        self.created = created
        self.isGold = isGold
    }
}

/// A queue's state.
public struct QueueSummary: Sendable, Equatable {
    public var spec: QueueSpec
    public var items: Int
    public var gold: Int
    /// Items with `overlap` answers (gold items need one).
    public var done: Int
    public var answers: Int
    public var activeLeases: Int
    public var annotators: [String]
    public var closed: Bool
}

/// Items for one queue, as a routing run adds them.
public struct QueueBatch: Sendable, Equatable {
    public var queue: String
    public var items: [QueueItem]

    public init(queue: String, items: [QueueItem]) {
        self.queue = queue
        self.items = items
    }
}

/// One routed item, as recorded.
public struct RouteRecord: Sendable, Equatable {
    public enum Decision: String, Sendable { case auto, human, audit, adjudication, secondOpinion = "second-opinion" }
    public var path: String
    public var decision: Decision
    /// The model's class (auto, audit, second opinion).
    public var predictedClass: String?
    public var confidence: Double?
    /// The queue the item went to (nil for auto-accepted items without audit).
    public var queue: String?

    public init(path: String, decision: Decision, predictedClass: String? = nil, confidence: Double? = nil, queue: String? = nil) {
        self.path = path
        self.decision = decision
        self.predictedClass = predictedClass
        self.confidence = confidence
        self.queue = queue
    }
}

/// One routing run to record: its summary, decisions, retired validation items and the items it queues.
public struct RouteRun: Sendable {
    public var model: String
    public var target: Double
    /// The run's outcome (JSON object), as `route --json` prints it.
    public var summary: String
    public var records: [RouteRecord]
    public var retire: [String]
    public var queued: [QueueBatch]

    public init(model: String, target: Double, summary: String, records: [RouteRecord], retire: [String], queued: [QueueBatch]) {
        self.model = model
        self.target = target
        self.summary = summary
        self.records = records
        self.retire = retire
        self.queued = queued
    }
}

/// What earlier routing runs left: decisions, retired validation items, suspended classes.
public struct RouteState: Sendable {
    public var runs: Int
    /// The target accuracy of the latest run.
    public var lastTarget: Double?
    public var items: [String: RouteRecord]
    public var retired: Set<String>
    /// Class → why auto-accepting it stopped.
    public var suspended: [String: String]
}

/// A recorded workflow run.
public struct WorkflowRun: Sendable, Equatable {
    public enum Status: String, Sendable { case running, paused, failed, done }
    public var id: Int
    public var workflow: String
    public var file: String
    /// Parameters as given (JSON object).
    public var params: String
    public var status: Status
    /// What the repository looked like to the steps (its HEAD, or the token of the run that made HEAD).
    public var token: String
    public var started: Date
    public var finished: Date?
    /// HEAD when the run finished.
    public var endRevision: String?
    public var message: String?
}

/// One step's execution within a run.
public struct WorkflowStepRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case running, done, cached, paused, failed }
    public var run: Int
    public var step: String
    public var status: Status
    public var key: String
    public var started: Date
    public var finished: Date?
    /// Output path → content hash (JSON object).
    public var outputs: String?
    /// The step's process, while it runs (a resumed run stops a leftover one).
    public var pid: Int32?
    /// The identity of that process (boot id and start time), checked before it is ever signalled.
    public var process: String?
    public var message: String?

    public init(run: Int, step: String, status: Status, key: String, started: Date, finished: Date? = nil, outputs: String? = nil,
                pid: Int32? = nil, process: String? = nil, message: String? = nil) {
        self.run = run; self.step = step; self.status = status; self.key = key; self.started = started
        self.finished = finished; self.outputs = outputs; self.pid = pid; self.process = process; self.message = message
    }
}
