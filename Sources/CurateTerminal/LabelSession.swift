import CurateImaging
import CurateStore
import Foundation

/// Where a session gets items and stores answers (the repository's queue, or a fake in tests).
package protocol LabelBackend {
    func next() throws -> QueueItem?
    /// Stores the answer to `item` (as served, with its lease).
    func store(item: QueueItem, answer: String, seconds: Double) throws
    func undo() throws -> QueueItem?
    /// Takes back this annotator's answer on `path` and serves the item again (the history's "change it").
    func reopen(path: String) throws -> QueueItem?
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
    package func reopen(path: String) throws -> QueueItem? { try store.reopenAnswer(queue, annotator: annotator, path: path, now: Date()) }
    package func renew(item: QueueItem) throws {
        _ = try store.renewLease(queue, path: item.path, annotator: annotator, lease: item.lease ?? "", now: Date())
    }
}

/// The keyboard (and mouse) state machine of a labeling session, independent of the terminal: keys in, answers
/// out through the backend, and what the screen should show.
///
/// Keys: a class's hotkey answers a classification, or toggles a class in multi-label (Enter confirms); Enter
/// accepts the suggestion; `a`/`r` accept or reject in review; box review has its own keys (see `BoxReview`); `/`
/// picks a class by typing part of its name (any schema size); `s` skips, `f` flags with a note (Enter stores, Esc
/// cancels), `u` undoes the last answer (repeatable), `p` lists this session's answers to step back to any of them,
/// `+`/`-` zoom, `z` toggles view mode (arrows pan), `?` shows help, `i` the instructions, `q` quits.
///
/// Class hotkeys are the digits, then the lowercase letters no command of the task uses (see `hotkeys(for:)`);
/// classes beyond those are reached with `/`.
package final class LabelSession {
    package enum Mode: Equatable {
        case labeling, help, instructions, note(String), finished
        /// The class picker: the text typed so far and the highlighted match.
        case picker(String, Int)
        /// This session's answers, newest first, with the highlighted one.
        case history(Int)
    }

    /// One class with its hotkey (nil: only the picker reaches it).
    package typealias Class = (id: Int, name: String, key: Character?)
    /// One answer given in this session, for the history.
    package struct Given: Equatable, Sendable {
        package var path: String
        /// The answer in a few words ("dog", "skipped", "2 boxes", "flagged: blurry").
        package var summary: String
    }

    package let task: QueueSpec.Task
    /// Classes in id order with their hotkeys.
    package let classes: [Class]
    package let instructions: String
    let backend: LabelBackend

    package private(set) var current: QueueItem?
    package private(set) var mode: Mode = .labeling
    package internal(set) var message: String?
    package private(set) var selected: Set<Int> = []
    package private(set) var answeredThisSession = 0
    /// This session's answers, oldest first (items stepped back to leave it until answered again).
    package private(set) var history: [Given] = []
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
    /// Zoom factor of the image (1: the whole image) and the centre of the view, as fractions of the image.
    package private(set) var zoom = 1
    package private(set) var center = (x: 0.5, y: 0.5)
    /// In view mode arrows (and h j k l) pan instead of moving a box.
    package private(set) var viewMode = false
    /// The window (columns × rows) the screen was last drawn for: mouse positions are read against it.
    package var window = (columns: 80, rows: 24)
    package static let maxZoom = 16

    /// Keys every task uses for commands (never class keys).
    static let commonCommands: Set<Character> = ["s", "f", "u", "q", "i", "p", "z", "?", "/", "+", "-"]

    /// The keys, in order, that classes get for `task`: digits, then the letters no command of the task uses.
    package static func hotkeys(for task: QueueSpec.Task) -> [Character] {
        var commands = commonCommands
        switch task {
        case .review: commands.formUnion(["a", "r"])
        case .boxes: commands.formUnion(["e", "c", "x", "d", "n", "h", "j", "k", "l"])
        case .classify, .multilabel: break
        }
        return Array("0123456789") + Array("abcdefghijklmnopqrstuvwxyz").filter { !commands.contains($0) }
    }

    /// `boxSource` gives box review an item's starting boxes (the suggestion's or the committed ones) and its
    /// image size; it is required for `.boxes` queues.
    package init(task: QueueSpec.Task, classes: [(id: Int, name: String)], instructions: String = "", backend: LabelBackend,
                boxSource: ((QueueItem) throws -> BoxReview)? = nil, now: Date = Date()) {
        self.task = task
        let keys = Self.hotkeys(for: task)
        self.classes = classes.sorted { $0.id < $1.id }.enumerated().map { i, c in (c.id, c.name, i < keys.count ? keys[i] : nil) }
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
        zoom = 1
        center = (0.5, 0.5)
        viewMode = false
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

    /// Classes whose name contains `filter` (case and accents ignored), names starting with it first.
    package func matches(_ filter: String) -> [Class] {
        let fold = { (text: String) in text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) }
        let f = fold(filter)
        guard !f.isEmpty else { return classes }
        let hits = classes.filter { fold($0.name).contains(f) }
        return hits.filter { fold($0.name).hasPrefix(f) } + hits.filter { !fold($0.name).hasPrefix(f) }
    }

    /// Handles one key; false when the session should end.
    @discardableResult
    package func handle(_ key: Key, now: Date = Date()) throws -> Bool {
        message = nil
        switch mode {
        case .finished:
            return !(key == .character("q") || key == .interrupt || key == .endOfInput)
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
        case .picker(let text, let at):
            let found = matches(text)
            switch key {
            case .enter:
                guard found.indices.contains(at) else { message = "no class matches \(text)"; return true }
                mode = .labeling
                try choose(found[at], now: now)
            case .escape: mode = .labeling
            case .backspace: mode = .picker(String(text.dropLast()), 0)
            case .up: mode = .picker(text, max(0, at - 1))
            case .down, .tab: mode = .picker(text, min(max(0, found.count - 1), at + 1))
            case .character(let c): mode = .picker(text + String(c), 0)
            case .interrupt: return false
            default: break
            }
            return true
        case .history(let at):
            let newest = Array(history.reversed())
            switch key {
            case .up, .character("k"): mode = .history(max(0, at - 1))
            case .down, .character("j"), .tab: mode = .history(min(max(0, newest.count - 1), at + 1))
            case .enter:
                mode = .labeling
                guard newest.indices.contains(at) else { return true }
                try stepBack(to: newest[at], now: now)
            case .interrupt: return false
            default: mode = .labeling
            }
            return true
        case .labeling:
            break
        }
        guard current != nil else { return false }
        if case .mouse(let event) = key { handleMouse(event); return true }
        if try handleViewKey(key) { return true }
        if task == .boxes, try handleBoxKey(key, now: now) { return true }
        switch key {
        case .interrupt, .endOfInput, .character("q"): return false
        case .character("?"): mode = .help
        case .character("/"): mode = .picker("", 0)
        case .character("p"):
            if history.isEmpty { message = "no answers in this session yet" } else { mode = .history(0) }
        case .character("i"): mode = instructions.isEmpty ? .labeling : .instructions; if instructions.isEmpty { message = "this queue has no instructions" }
        case .character("s"): try answer(["skip": true], now: now)
        case .character("f"): mode = .note("")
        case .character("u"), .backspace:
            guard let last = history.last else {
                // Answers of an earlier session can still be taken back, one by one.
                if let back = try backend.undo() {
                    try show(back, now: now)
                    message = "undone: your earlier answer to \(back.path); answer it again"
                } else {
                    message = "nothing to undo"
                }
                return true
            }
            try stepBack(to: last, now: now)
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
            guard let chosen = classes.first(where: { $0.key == c }) else { message = "no class on key \(c) (/ picks a class by name, ? lists the keys)"; return true }
            try choose(chosen, now: now)
        default:
            message = "? for help"
        }
        return true
    }

    /// What choosing a class (by its key or the picker) does in this task.
    func choose(_ chosen: Class, now: Date) throws {
        switch task {
        case .multilabel:
            if selected.contains(chosen.id) { selected.remove(chosen.id) } else { selected.insert(chosen.id) }
        case .classify, .review:
            try answer(["class": chosen.name], now: now)
        case .boxes:
            guard var r = review, r.setClass(chosen.id) else { message = "no box selected: n adds one (or drag with the mouse)"; return }
            review = r
        }
    }

    /// Takes back the answer `given` and shows its item again.
    func stepBack(to given: Given, now: Date) throws {
        let back = given == history.last ? try backend.undo() : try backend.reopen(path: given.path)
        guard let back else { message = "\(given.path): its answer can no longer be changed"; return }
        if let i = history.lastIndex(of: given) { history.remove(at: i) }
        try show(back, now: now)
        answeredThisSession = max(0, answeredThisSession - 1)
        message = "undone: \(given.summary) on \(back.path); answer it again"
    }

    /// The part of the image in view, in pixels of an image `width` × `height`.
    package func viewRect(width: Int, height: Int) -> (x: Double, y: Double, width: Double, height: Double) {
        let (w, h) = (Double(max(1, width)), Double(max(1, height)))
        let (vw, vh) = (w / Double(zoom), h / Double(zoom))
        let x = min(max(0, center.x * w - vw / 2), w - vw), y = min(max(0, center.y * h - vh / 2), h - vh)
        return (x, y, vw, vh)
    }

    /// Zoom and pan keys: `+`/`-` zoom in and out (2× steps), `z` toggles view mode, where arrows and h j k l pan by a
    /// quarter of the view (outside box review the arrows always pan). Esc leaves view mode.
    func handleViewKey(_ key: Key) throws -> Bool {
        let panArrows = viewMode || task != .boxes
        func pan(_ dx: Double, _ dy: Double) {
            guard zoom > 1 else { message = "zoom in first: + (or z)"; return }
            let step = 0.25 / Double(zoom), half = 0.5 / Double(zoom)
            center = (min(max(half, center.x + dx * step), 1 - half), min(max(half, center.y + dy * step), 1 - half))
        }
        switch key {
        case .character("+"), .character("="): setZoom(zoom * 2)
        case .character("-"): setZoom(zoom / 2)
        case .character("z"):
            viewMode.toggle()
            if viewMode, zoom == 1 { setZoom(2) }
            message = viewMode ? "view mode: arrows pan, + - zoom, z or Esc leaves" : nil
        case .escape where viewMode: viewMode = false
        case .left where panArrows, .character("h") where viewMode: pan(-1, 0)
        case .right where panArrows, .character("l") where viewMode: pan(1, 0)
        case .up where panArrows, .character("k") where viewMode: pan(0, -1)
        case .down where panArrows, .character("j") where viewMode: pan(0, 1)
        default: return false
        }
        return true
    }

    func setZoom(_ z: Int) {
        zoom = min(Self.maxZoom, max(1, z))
        if zoom == 1 { center = (0.5, 0.5); viewMode = false }
        let half = 0.5 / Double(zoom)
        center = (min(max(half, center.x), 1 - half), min(max(half, center.y), 1 - half))
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
        history.append(Given(path: item.path, summary: Self.summary(object)))
        if history.count > 100 { history.removeFirst(history.count - 100) }
        mode = .labeling
        try show(try backend.next(), now: now)
        message = "saved: \(item.path) → \(Self.summary(object)) (u undoes, p lists your answers)"
    }

    /// An answer in a few words.
    static func summary(_ object: [String: Any]) -> String {
        if object["skip"] != nil { return "skipped" }
        if let note = object["flag"] as? String { return note.isEmpty ? "flagged" : "flagged: \(note)" }
        if let review = object["review"] as? String { return review == "accept" ? "accepted" : "rejected" }
        if let names = object["classes"] as? [String] { return names.isEmpty ? "no class" : names.joined(separator: ", ") }
        if let boxes = object["boxes"] as? [Any] { return boxes.count == 1 ? "1 box" : "\(boxes.count) boxes" }
        if let name = object["class"] as? String { return name }
        return "answered"
    }
}
