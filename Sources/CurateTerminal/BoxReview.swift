import Foundation

/// The boxes of one item under review, in image pixels, with the selection, the edge being moved and an undo
/// history of the edits made on this item.
///
/// Keys (box queues): Tab / Shift-Tab select the next / previous box; `e` cycles what the arrows move (the whole
/// box, then its left, top, right and bottom edge); arrows or h j k l move it by 1% of the image, Shift+arrows or
/// H J K L by 10%; 0–9 set the selected box's class, `c` steps to the next class; `x` (or `d`) deletes it; `n` adds a
/// box in the middle of the image; `u` undoes the last edit (then the last answer); Enter confirms the boxes as
/// they are.
package struct BoxReview: Equatable, Sendable {
    /// One box: class id and pixel rectangle (x, y top-left).
    package struct Box: Equatable, Sendable {
        package var classID: Int
        package var x: Double, y: Double, width: Double, height: Double
        package init(classID: Int, x: Double, y: Double, width: Double, height: Double) {
            self.classID = classID
            self.x = x; self.y = y; self.width = width; self.height = height
        }
    }

    package enum Edge: String, CaseIterable, Sendable { case whole = "whole box", left = "left edge", top = "top edge", right = "right edge", bottom = "bottom edge" }

    package private(set) var boxes: [Box]
    package let imageWidth: Int
    package let imageHeight: Int
    package private(set) var selected: Int?
    package private(set) var edge: Edge = .whole
    private var history: [(boxes: [Box], selected: Int?)] = []
    private let original: [Box]

    package init(boxes: [Box], imageWidth: Int, imageHeight: Int) {
        let clamped = boxes.map { Self.clamp($0, imageWidth, imageHeight) }
        self.boxes = clamped
        self.original = clamped
        self.imageWidth = max(1, imageWidth)
        self.imageHeight = max(1, imageHeight)
        self.selected = boxes.isEmpty ? nil : 0
    }

    package static func == (a: BoxReview, b: BoxReview) -> Bool {
        a.boxes == b.boxes && a.selected == b.selected && a.edge == b.edge && a.imageWidth == b.imageWidth && a.imageHeight == b.imageHeight
    }

    /// Whether the boxes differ from the ones the item started with.
    package var edited: Bool { boxes != original }
    package var canUndo: Bool { !history.isEmpty }

    mutating func remember() { history.append((boxes, selected)) }

    mutating func undo() {
        guard let last = history.popLast() else { return }
        boxes = last.boxes
        selected = last.selected
    }

    mutating func cycle(by step: Int) {
        guard !boxes.isEmpty else { selected = nil; return }
        selected = ((selected ?? (step > 0 ? -1 : 0)) + step + boxes.count) % boxes.count
        edge = .whole
    }

    mutating func cycleEdge() {
        let all = Edge.allCases
        edge = all[(all.firstIndex(of: edge)! + 1) % all.count]
    }

    /// Moves the selected edge (or the whole box) by `dx`, `dy` steps of 1% of the image (10% when `big`).
    /// Returns a message when the key does not apply.
    mutating func nudge(dx: Int, dy: Int, big: Bool) -> String? {
        guard let i = selected else { return "no box selected: n adds one" }
        let stepX = max(1, (Double(imageWidth) * (big ? 0.1 : 0.01)).rounded())
        let stepY = max(1, (Double(imageHeight) * (big ? 0.1 : 0.01)).rounded())
        let mx = Double(dx) * stepX, my = Double(dy) * stepY
        var b = boxes[i]
        let (w, h) = (Double(imageWidth), Double(imageHeight))
        switch edge {
        case .whole:
            b.x = min(max(0, b.x + mx), w - b.width)
            b.y = min(max(0, b.y + my), h - b.height)
        case .left, .right:
            guard dx != 0 else { return "the \(edge.rawValue) moves with ← →" }
            if edge == .left {
                let right = b.x + b.width
                b.x = min(max(0, b.x + mx), right - 1)
                b.width = right - b.x
            } else {
                b.width = min(max(1, b.width + mx), w - b.x)
            }
        case .top, .bottom:
            guard dy != 0 else { return "the \(edge.rawValue) moves with ↑ ↓" }
            if edge == .top {
                let bottom = b.y + b.height
                b.y = min(max(0, b.y + my), bottom - 1)
                b.height = bottom - b.y
            } else {
                b.height = min(max(1, b.height + my), h - b.y)
            }
        }
        guard b != boxes[i] else { return "at the image's edge" }
        remember()
        boxes[i] = b
        return nil
    }

    mutating func setClass(_ id: Int) -> Bool {
        guard let i = selected else { return false }
        guard boxes[i].classID != id else { return true }
        remember()
        boxes[i].classID = id
        return true
    }

    mutating func delete() -> Bool {
        guard let i = selected else { return false }
        remember()
        boxes.remove(at: i)
        selected = boxes.isEmpty ? nil : min(i, boxes.count - 1)
        edge = .whole
        return true
    }

    /// Adds a box a quarter of the image's size in its middle, selected, the whole box moving.
    mutating func add(classID: Int) {
        remember()
        let (w, h) = (Double(imageWidth), Double(imageHeight))
        boxes.append(Box(classID: classID, x: (w * 0.375).rounded(), y: (h * 0.375).rounded(), width: max(1, (w / 4).rounded()), height: max(1, (h / 4).rounded())))
        selected = boxes.count - 1
        edge = .whole
    }

    static func clamp(_ b: Box, _ width: Int, _ height: Int) -> Box {
        let (w, h) = (Double(max(1, width)), Double(max(1, height)))
        var c = b
        c.x = min(max(0, b.x), w - 1)
        c.y = min(max(0, b.y), h - 1)
        c.width = max(1, min(b.x + b.width, w) - c.x)
        c.height = max(1, min(b.y + b.height, h) - c.y)
        return c
    }
}

extension LabelSession {
    /// Box review keys; false when the key is not one of them (the common keys then apply).
    func handleBoxKey(_ key: Key, now: Date) throws -> Bool {
        guard var r = review else { return false }
        let classOf = { (c: Character) in self.classes.first { $0.key == c && $0.key.isNumber } }
        switch key {
        case .tab: r.cycle(by: 1)
        case .backTab: r.cycle(by: -1)
        case .character("e"):
            if r.selected == nil { message = "no box selected: n adds one" } else { r.cycleEdge() }
        case .left(let shift): message = r.nudge(dx: -1, dy: 0, big: shift)
        case .right(let shift): message = r.nudge(dx: 1, dy: 0, big: shift)
        case .up(let shift): message = r.nudge(dx: 0, dy: -1, big: shift)
        case .down(let shift): message = r.nudge(dx: 0, dy: 1, big: shift)
        case .character(let c) where "hjklHJKL".contains(c):
            let big = c.isUppercase
            switch Character(c.lowercased()) {
            case "h": message = r.nudge(dx: -1, dy: 0, big: big)
            case "l": message = r.nudge(dx: 1, dy: 0, big: big)
            case "k": message = r.nudge(dx: 0, dy: -1, big: big)
            default: message = r.nudge(dx: 0, dy: 1, big: big)
            }
        case .character(let c) where classOf(c) != nil:
            if !r.setClass(classOf(c)!.id) { message = "no box selected: n adds one" }
        case .character("c"):
            guard let i = r.selected, !classes.isEmpty else { message = "no box selected: n adds one"; return true }
            let at = classes.firstIndex { $0.id == r.boxes[i].classID } ?? -1
            _ = r.setClass(classes[(at + 1) % classes.count].id)
        case .character("x"), .character("d"):
            if !r.delete() { message = "no box to delete" }
        case .character("n"):
            let current = r.selected.map { r.boxes[$0].classID } ?? classes.first?.id ?? 0
            r.add(classID: current)
        case .character("u"), .backspace:
            guard r.canUndo else { return false }   // nothing edited here: undo the last answer
            r.undo()
            message = "edit undone"
        case .enter:
            let name = Dictionary(classes.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            let boxes: [[String: Any]] = r.boxes.map { b in
                ["class": name[b.classID] ?? String(b.classID), "x": round2(b.x), "y": round2(b.y), "w": round2(b.width), "h": round2(b.height)]
            }
            try answer(["boxes": boxes, "edited": r.edited], now: now)
            return true
        default:
            return false
        }
        review = r
        return true
    }
}

private func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
