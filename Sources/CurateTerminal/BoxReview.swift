import Foundation

/// The boxes of one item under review, in image pixels, with the selection, the edge being moved and an undo
/// history of the edits made on this item.
///
/// Keys (box queues): Tab / Shift-Tab select the next / previous box; `e` cycles what the arrows move (the whole
/// box, then its left, top, right and bottom edge); arrows or h j k l move it by 1% of the image, Shift+arrows or
/// H J K L by 10%; 0–9 set the selected box's class, `c` steps to the next class; `x` (or `d`) deletes it; `n` adds a
/// box in the middle of the image; `u` undoes the last edit (then the last answer); Enter confirms the boxes as
/// they are. With the mouse (`press`, `drag`, `release`): a click selects the box under it; on the selected box a
/// drag of its inside moves it and of its border moves that edge (a corner moves two); anywhere else a drag draws
/// a new box.
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
    /// The mouse drag in progress: what it does and whether it changed anything yet (the undo point is taken then).
    enum Drag: Sendable {
        case new(anchorColumn: Int, anchorRow: Int, drawn: Bool, classID: Int, clicked: Int?)
        case edges(box: Int, left: Bool, top: Bool, right: Bool, bottom: Bool)
        case move(box: Int, fromColumn: Int, fromRow: Int, original: Box)
    }
    private var drag: Drag?
    private var dragChanged = false
    /// Whether the selected box was chosen with a click (only then does dragging its inside move it).
    private var clickedSelection = false

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
        clickedSelection = false
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

    /// A mouse press on cell (`column`, `row`) of the image grid `map`; new boxes get `classID`.
    mutating func press(column: Int, row: Int, map: CellMap, classID: Int) {
        dragChanged = false
        let hit = hitTest(column: column, row: row, map: map)
        // Only the selected box moves: on another box a click selects it and a drag draws a new box (nested
        // objects, a helmet on a person, are drawn inside others).
        guard let (i, cells) = hit, i == selected else {
            clickedSelection = false
            drag = .new(anchorColumn: column, anchorRow: row, drawn: false, classID: classID, clicked: hit?.0)
            return
        }
        selected = i
        edge = .whole
        let onLeft = column == cells.c0, onRight = column == cells.c1, onTop = row == cells.r0, onBottom = row == cells.r1
        // Boxes two cells or less across move as a whole (their borders are all there is).
        let small = cells.c1 - cells.c0 < 2 || cells.r1 - cells.r0 < 2
        if !small, onLeft || onRight || onTop || onBottom {
            drag = .edges(box: i, left: onLeft, top: onTop, right: onRight, bottom: onBottom)
        } else if clickedSelection {
            drag = .move(box: i, fromColumn: column, fromRow: row, original: boxes[i])
        } else {
            // Selected by the keyboard (the first box of an item is): its inside is not grabbed until it is clicked.
            drag = .new(anchorColumn: column, anchorRow: row, drawn: false, classID: classID, clicked: i)
        }
    }

    /// The mouse moved to (`column`, `row`) with the button down.
    mutating func drag(column: Int, row: Int, map: CellMap) {
        guard let d = drag else { return }
        let (w, h) = (Double(imageWidth), Double(imageHeight))
        func x(_ c: Int) -> Double { min(w, max(0, map.left(c).rounded())) }
        func y(_ r: Int) -> Double { min(h, max(0, map.top(r).rounded())) }
        switch d {
        case .new(let ac, let ar, let drawn, let classID, let clicked):
            guard drawn || column != ac || row != ar else { return }
            if !drawn {
                remember()
                boxes.append(Box(classID: classID, x: 0, y: 0, width: 1, height: 1))
                selected = boxes.count - 1
                edge = .whole
                drag = .new(anchorColumn: ac, anchorRow: ar, drawn: true, classID: classID, clicked: clicked)
            }
            let x0 = x(min(ac, column)), x1 = x(max(ac, column) + 1), y0 = y(min(ar, row)), y1 = y(max(ar, row) + 1)
            let i = boxes.count - 1
            boxes[i] = Box(classID: boxes[i].classID, x: min(x0, w - 1), y: min(y0, h - 1), width: max(1, x1 - x0), height: max(1, y1 - y0))
        case .edges(let i, let left, let top, let right, let bottom):
            var b = boxes[i]
            if left { let r = b.x + b.width; b.x = min(x(column), r - 1); b.width = r - b.x }
            if right { b.width = max(1, x(column + 1) - b.x) }
            if top { let bt = b.y + b.height; b.y = min(y(row), bt - 1); b.height = bt - b.y }
            if bottom { b.height = max(1, y(row + 1) - b.y) }
            setDragged(i, b)
        case .move(let i, let fc, let fr, let original):
            var b = original
            b.x = min(max(0, (original.x + Double(column - fc) * map.width / Double(map.columns)).rounded()), w - b.width)
            b.y = min(max(0, (original.y + Double(row - fr) * map.height / Double(map.rows)).rounded()), h - b.height)
            setDragged(i, b)
        }
    }

    private mutating func setDragged(_ i: Int, _ b: Box) {
        guard b != boxes[i] else { return }
        if !dragChanged { remember(); dragChanged = true }
        boxes[i] = b
    }

    /// The button was released; a message for what happened (nil when there is nothing to say).
    mutating func release(column: Int, row: Int, map: CellMap) -> String? {
        drag(column: column, row: row, map: map)
        defer { drag = nil; dragChanged = false }
        switch drag {
        case .new(_, _, let drawn, _, let clicked):
            if drawn { return "box \(boxes.count) drawn: a class key sets its class" }
            if let clicked { selected = clicked; edge = .whole; clickedSelection = true }
            return nil
        default: return nil
        }
    }

    /// The class new boxes get: that of the selected box, else `fallback`.
    func classForNew(_ fallback: Int) -> Int { selected.map { boxes[$0].classID } ?? fallback }

    /// The box under cell (`column`, `row`): the selected one first, else the smallest; with its cells.
    func hitTest(column: Int, row: Int, map: CellMap) -> (Int, CellMap.Cells)? {
        let order = (selected.map { [$0] } ?? []) + boxes.indices.filter { $0 != selected }.sorted { boxes[$0].width * boxes[$0].height < boxes[$1].width * boxes[$1].height }
        for i in order {
            let c = map.cells(of: boxes[i])
            if (c.c0...c.c1).contains(column), (c.r0...c.r1).contains(row) { return (i, c) }
        }
        return nil
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
        let classOf = { (c: Character) in self.classes.first { $0.key == c } }
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
            r.add(classID: r.classForNew(classes.first?.id ?? 0))
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

/// Where the image's pixels sit on the screen: the part of the image in view (`x`, `y`, `width`, `height`, in
/// pixels) drawn over `columns` × `rows` cells.
package struct CellMap: Sendable, Equatable {
    package var x: Double, y: Double, width: Double, height: Double
    package var columns: Int, rows: Int
    /// A box's cells: first and last column and row (they may lie outside the grid when the box is out of view).
    package struct Cells: Equatable { var c0: Int, c1: Int, r0: Int, r1: Int }

    package init(x: Double, y: Double, width: Double, height: Double, columns: Int, rows: Int) {
        self.x = x; self.y = y; self.width = max(1e-9, width); self.height = max(1e-9, height)
        self.columns = max(1, columns); self.rows = max(1, rows)
    }

    /// The pixel x of the left edge of column `c` (of the top edge of row `r`).
    func left(_ c: Int) -> Double { x + Double(c) / Double(columns) * width }
    func top(_ r: Int) -> Double { y + Double(r) / Double(rows) * height }

    func cells(of b: BoxReview.Box) -> Cells {
        let c0 = Int(((b.x - x) / width * Double(columns)).rounded(.down))
        let c1 = max(c0, Int(((b.x + b.width - x) / width * Double(columns)).rounded(.up)) - 1)
        let r0 = Int(((b.y - y) / height * Double(rows)).rounded(.down))
        let r1 = max(r0, Int(((b.y + b.height - y) / height * Double(rows)).rounded(.up)) - 1)
        return Cells(c0: c0, c1: c1, r0: r0, r1: r1)
    }
}

extension LabelSession {
    /// The image grid of box review for the window the screen was last drawn for.
    package var cellMap: CellMap? { cellMap(columns: window.columns, rows: window.rows) }

    /// The image grid of box review in a window of `columns` × `rows`.
    package func cellMap(columns: Int, rows: Int) -> CellMap? {
        guard let r = review else { return nil }
        let view = viewRect(width: r.imageWidth, height: r.imageHeight)
        let grid = ImageRenderer.fit(width: Int(view.width.rounded()), height: Int(view.height.rounded()), columns: columns,
                                     rows: Screen.layout(self, columns: columns, rows: rows).imageRows)
        return CellMap(x: view.x, y: view.y, width: view.width, height: view.height, columns: grid.columns, rows: grid.rows)
    }

    /// A mouse report: the wheel zooms; in box review, presses, drags and releases edit the boxes.
    func handleMouse(_ m: Mouse) {
        switch m.action {
        case .wheelUp: setZoom(zoom * 2); return
        case .wheelDown: setZoom(zoom / 2); return
        default: break
        }
        guard m.button == 0, var r = review, let map = cellMap else { return }
        var (column, row) = (m.column - 1, m.row - 2)
        switch m.action {
        case .press:
            // A press outside the image does nothing; a drag leaving it stops at its border.
            guard (0..<map.columns).contains(column), (0..<map.rows).contains(row) else { return }
            r.press(column: column, row: row, map: map, classID: r.classForNew(classes.first?.id ?? 0))
        case .drag:
            (column, row) = (min(max(0, column), map.columns - 1), min(max(0, row), map.rows - 1))
            r.drag(column: column, row: row, map: map)
        default:
            (column, row) = (min(max(0, column), map.columns - 1), min(max(0, row), map.rows - 1))
            message = r.release(column: column, row: row, map: map)
        }
        review = r
    }
}

private func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
