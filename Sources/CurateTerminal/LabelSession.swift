import CurateImaging
import CurateStore
import Foundation

/// Where a session gets items and stores answers (the repository's queue, or a fake in tests).
package protocol LabelBackend {
    func next() throws -> QueueItem?
    /// Stores the answer to `item` (as served, with its lease).
    func store(item: QueueItem, answer: String, seconds: Double) throws
    func undo() throws -> QueueItem?
    /// Extends the lease on the item on screen (a slow annotator keeps it; a crashed one does not).
    func renew(item: QueueItem) throws
    /// Why this annotator's work is paused (blocked by the queue's vetting policy or a lead), in plain words; nil
    /// when it is not.
    func pausedReason() throws -> String?
}

extension LabelBackend {
    package func pausedReason() throws -> String? { nil }
}

/// A queue of the labeling store, for one annotator.
package struct QueueBackend: LabelBackend {
    package var store: any QueueStore
    package var queue: String
    package var annotator: String
    /// Called after each stored answer (the queue's vetting policy runs there).
    package var afterAnswer: (() -> Void)?

    package init(store: any QueueStore, queue: String, annotator: String, afterAnswer: (() -> Void)? = nil) {
        self.store = store
        self.queue = queue
        self.annotator = annotator
        self.afterAnswer = afterAnswer
    }

    package func next() throws -> QueueItem? { try store.leaseNext(queue, annotator: annotator) }
    package func store(item: QueueItem, answer: String, seconds: Double) throws {
        try store.storeAnswer(queue, path: item.path, annotator: annotator, answer: answer, seconds: seconds, lease: item.lease ?? "")
        afterAnswer?()
    }
    package func pausedReason() throws -> String? {
        guard let block = try store.activeBlock(queue, annotator: annotator) else { return nil }
        return block.reason.isEmpty ? "a lead paused it" : block.reason
    }
    package func undo() throws -> QueueItem? { try store.undoLastAnswer(queue, annotator: annotator) }
    package func renew(item: QueueItem) throws {
        _ = try store.renewLease(queue, path: item.path, annotator: annotator, lease: item.lease ?? "", now: Date())
    }
}

/// The keyboard state machine of a labeling session, independent of the terminal: keys in, answers out
/// through the backend, and what the screen should show.
///
/// Keys: a class's hotkey (0–9, then a–z skipping the command letters) answers a classification, or toggles a
/// class in multi-label (Enter confirms); Enter accepts the suggestion; `a`/`r` accept or reject in review;
/// box review has its own keys (see `BoxReview`); `s` skips, `f` flags with a note (Enter stores, Esc cancels),
/// `u` undoes the last answer (repeatable), `?` shows help, `i` the instructions, `q` quits.
package final class LabelSession {
    package enum Mode: Equatable { case labeling, help, instructions, note(String), finished }

    package let task: QueueSpec.Task
    /// Classes in hotkey order: (id, name, key).
    package let classes: [(id: Int, name: String, key: Character)]
    package let instructions: String
    let backend: LabelBackend

    package private(set) var current: QueueItem?
    package private(set) var mode: Mode = .labeling
    package internal(set) var message: String?
    package private(set) var selected: Set<Int> = []
    package private(set) var answeredThisSession = 0
    /// Why the annotator's work is paused (they were blocked), when it is: the finished screen says so.
    package private(set) var paused: String?
    package private(set) var itemStarted = Date()
    /// The queue's lease time: while an item stays on screen its lease is renewed every half of it (nil: never).
    package var leaseSeconds: Double?
    private var renewed = Date()
    package let sessionStarted: Date
    /// Box review: the boxes being edited on the current item (nil for the other tasks).
    package internal(set) var review: BoxReview?
    /// Where box review gets an item's starting boxes and image size.
    let boxSource: ((QueueItem) throws -> BoxReview)?

    static let commandKeys: Set<Character> = ["a", "r", "s", "f", "u", "q", "i"]

    /// `boxSource` gives box review an item's starting boxes (the suggestion's or the committed ones) and its
    /// image size; it is required for `.boxes` queues.
    package init(task: QueueSpec.Task, classes: [(id: Int, name: String)], instructions: String = "", backend: LabelBackend,
                boxSource: ((QueueItem) throws -> BoxReview)? = nil, now: Date = Date()) {
        self.task = task
        let hotkeys = Array("0123456789") + Array("bcdeghjklmnoptvwxyz")
        self.classes = classes.sorted { $0.id < $1.id }.enumerated().map { i, c in (c.id, c.name, i < hotkeys.count ? hotkeys[i] : "·") }
        self.instructions = instructions
        self.backend = backend
        self.sessionStarted = now
        self.boxSource = boxSource
    }

    /// Leases the first item (or resumes the one held).
    package func start(now: Date = Date()) throws {
        try show(try backend.next(), now: now)
    }

    /// Makes `item` the one on screen.
    func show(_ item: QueueItem?, now: Date) throws {
        current = item
        itemStarted = now
        renewed = now
        selected = []
        review = nil
        if let item, task == .boxes, let boxSource { review = try boxSource(item) }
        paused = nil
        if current == nil {
            mode = .finished
            paused = try backend.pausedReason()
        }
    }

    /// With nothing left on screen, looks for an item again (new ones arrived, or a lease expired); true when one
    /// is shown now.
    package func lookForNewWork(now: Date = Date()) throws -> Bool {
        guard mode == .finished, let item = try backend.next() else { return false }
        mode = .labeling
        try show(item, now: now)
        return true
    }

    /// Called while the annotator looks at an item: renews its lease every half lease. A lease that was lost
    /// meanwhile (it expired and went to someone else) is said, and the next item is served.
    package func tick(now: Date = Date()) throws {
        guard let item = current, let lease = leaseSeconds, now.timeIntervalSince(renewed) >= lease / 2 else { return }
        renewed = now
        do { try backend.renew(item: item) } catch let error as StoreError where error.kind == .conflict {
            message = "\(item.path) went to someone else while it was open here (its lease expired)"
            try show(try backend.next(), now: now)
        }
    }

    /// The suggestion's class name, when the item has one: `{"class": NAME, "confidence": p}`.
    package var suggestion: (name: String, confidence: Double?)? {
        guard let json = current?.suggestion, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let name = object["class"] as? String else { return nil }
        return (name, (object["confidence"] as? NSNumber)?.doubleValue)
    }

    /// Handles one key; false when the session should end.
    @discardableResult
    package func handle(_ key: Key, now: Date = Date()) throws -> Bool {
        message = nil
        switch mode {
        case .finished:
            return !(key == .character("q") || key == .interrupt || key == .endOfInput || key == .enter)
        case .help, .instructions:
            mode = .labeling
            return true
        case .note(let text):
            switch key {
            case .enter: try answer(["flag": text], now: now); return true
            case .escape: mode = .labeling
            case .backspace: mode = .note(String(text.dropLast()))
            case .character(let c): mode = .note(text + String(c))
            case .interrupt: return false
            default: break
            }
            return true
        case .labeling:
            break
        }
        guard current != nil else { return false }
        if task == .boxes, try handleBoxKey(key, now: now) { return true }
        switch key {
        case .interrupt, .endOfInput, .character("q"): return false
        case .character("?"): mode = .help
        case .character("i"): mode = instructions.isEmpty ? .labeling : .instructions; if instructions.isEmpty { message = "this queue has no instructions" }
        case .character("s"): try answer(["skip": true], now: now)
        case .character("f"): mode = .note("")
        case .character("u"), .backspace:
            if let back = try backend.undo() {
                try show(back, now: now)
                answeredThisSession = max(0, answeredThisSession - 1)
                message = "undone: \(back.path) is back"
            } else {
                message = "nothing to undo"
            }
        case .enter:
            if task == .multilabel {
                try answer(["classes": classes.filter { selected.contains($0.id) }.map(\.name)], now: now)
            } else if let suggestion {
                try answer(["class": suggestion.name, "accepted_suggestion": true], now: now)
            } else {
                message = "no suggestion to accept: press a class key"
            }
        case .character("a") where task == .review: try answer(["review": "accept"], now: now)
        case .character("r") where task == .review: try answer(["review": "reject"], now: now)
        case .character(let c):
            guard let chosen = classes.first(where: { $0.key == c }) else { message = "no class on key \(c) (? for help)"; return true }
            switch task {
            case .multilabel:
                if selected.contains(chosen.id) { selected.remove(chosen.id) } else { selected.insert(chosen.id) }
            case .classify, .review:
                try answer(["class": chosen.name], now: now)
            case .boxes:
                message = "no key \(c) in box review (? for help)"
            }
        default:
            message = "? for help"
        }
        return true
    }

    /// Stores the answer (its own transaction) and moves to the next item.
    func answer(_ object: [String: Any], now: Date) throws {
        guard let item = current else { return }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        do {
            try backend.store(item: item, answer: json, seconds: max(0, now.timeIntervalSince(itemStarted)))
        } catch let error as StoreError where error.kind == .locked {
            // Blocked while this item was on screen: the finished screen says why (the answer is not stored).
            guard try backend.pausedReason() != nil else { throw error }
            mode = .labeling
            try show(nil, now: now)
            return
        }
        answeredThisSession += 1
        mode = .labeling
        try show(try backend.next(), now: now)
    }
}
