@testable import CurateTerminal
import CurateImaging
import CurateStore
import Foundation
import Synchronization
import Testing

/// An in-memory queue: items in order, answers kept, undo gives the last item back.
final class FakeBackend: LabelBackend, @unchecked Sendable {
    var pending: [QueueItem]
    var answers: [(path: String, answer: String, seconds: Double)] = []
    var held: QueueItem?

    init(_ paths: [String], suggestion: String? = nil) { pending = paths.map { QueueItem(path: $0, suggestion: suggestion) } }

    func next() throws -> QueueItem? {
        if let held { return held }
        held = pending.isEmpty ? nil : pending.removeFirst()
        return held
    }
    func store(item: QueueItem, answer: String, seconds: Double) throws {
        answers.append((item.path, answer, seconds))
        held = nil
    }
    var renewals: [(path: String, at: Int)] = []
    var leaseLost = false
    var clock = 0
    func renew(item: QueueItem) throws {
        if leaseLost { leaseLost = false; held = nil; throw StoreError(.conflict, "lost") }
        renewals.append((item.path, clock))
    }
    func undo() throws -> QueueItem? {
        guard let last = answers.last else { return nil }
        return try reopen(path: last.path)
    }
    func reopen(path: String) throws -> QueueItem? {
        guard let i = answers.lastIndex(where: { $0.path == path }) else { return nil }
        answers.remove(at: i)
        if let held { pending.insert(held, at: 0) }
        held = QueueItem(path: path)
        return held
    }
}

@Suite struct LabelSessionTests {
    let classes = [(id: 0, name: "cat"), (id: 1, name: "dog"), (id: 2, name: "bird")]

    /// An item left on screen keeps its lease (renewed every half lease); a lease lost meanwhile is said and the
    /// next item served.
    @Test func leasesAreRenewedWhileAnItemIsOnScreen() throws {
        let backend = FakeBackend(["a.png", "b.png"])
        let t0 = Date(timeIntervalSince1970: 1_000)
        let session = LabelSession(task: .classify, classes: classes, backend: backend, now: t0)
        session.leaseSeconds = 60
        try session.start(now: t0)
        for second in [20, 31, 45, 62, 95] {
            backend.clock = second
            try session.tick(now: t0.addingTimeInterval(Double(second)))
        }
        #expect(backend.renewals.map(\.at) == [31, 62, 95] && backend.renewals.allSatisfy { $0.path == "a.png" })
        backend.leaseLost = true
        try session.tick(now: t0.addingTimeInterval(200))
        #expect(session.current?.path == "b.png" && session.message == "a.png went to someone else while it was open here (its lease expired)")
    }

    @Test func classifyUndoSkipFlagAndQuit() throws {
        let backend = FakeBackend(["a", "b", "c", "d"])
        let t0 = Date(timeIntervalSince1970: 1000)
        let s = LabelSession(task: .classify, classes: classes, backend: backend, now: t0)
        try s.start(now: t0)
        #expect(s.current?.path == "a")
        try s.handle(.character("1"), now: t0.addingTimeInterval(2.5))
        #expect(backend.answers.map(\.answer) == [#"{"class":"dog"}"#])
        #expect(backend.answers[0].seconds == 2.5)
        #expect(s.current?.path == "b")
        // Undo: "a" comes back, its answer is gone; answer it again.
        try s.handle(.character("u"), now: t0.addingTimeInterval(3))
        #expect(s.current?.path == "a" && backend.answers.isEmpty && s.message == "undone: dog on a; answer it again")
        try s.handle(.character("0"), now: t0.addingTimeInterval(4))
        #expect(backend.answers.last?.answer == #"{"class":"cat"}"# && s.current?.path == "b")
        // Skip, then flag with a note (backspace edits it).
        try s.handle(.character("s"), now: t0.addingTimeInterval(5))
        #expect(backend.answers.last?.answer == #"{"skip":true}"# && s.current?.path == "c")
        try s.handle(.character("f"))
        for c in "blurx" { try s.handle(.character(c)) }
        try s.handle(.backspace)
        #expect(s.mode == .note("blur"))
        try s.handle(.enter)
        #expect(backend.answers.last?.answer == #"{"flag":"blur"}"# && s.current?.path == "d")
        // An unknown key answers nothing; help and back; quit.
        try s.handle(.character("9"))
        #expect(s.message == "no class on key 9 (/ picks a class by name, ? lists the keys)" && backend.answers.count == 3)
        try s.handle(.character("?"))
        #expect(s.mode == .help)
        try s.handle(.character("x"))
        #expect(s.mode == .labeling && backend.answers.count == 3)
        #expect(try s.handle(.character("q")) == false)
    }

    @Test func suggestionMultilabelReviewAndFinish() throws {
        let suggested = FakeBackend(["a"], suggestion: #"{"class":"bird","confidence":0.93}"#)
        let s = LabelSession(task: .classify, classes: classes, backend: suggested)
        try s.start()
        #expect(s.suggestion?.name == "bird" && s.suggestion?.confidence == 0.93)
        try s.handle(.enter)
        #expect(suggested.answers.last?.answer == #"{"accepted_suggestion":true,"class":"bird"}"#)
        #expect(s.mode == .finished && s.current == nil)
        #expect(try s.handle(.character("q")) == false)

        let multi = FakeBackend(["a", "b"])
        let m = LabelSession(task: .multilabel, classes: classes, backend: multi)
        try m.start()
        try m.handle(.character("0")); try m.handle(.character("2")); try m.handle(.character("0")); try m.handle(.character("1"))
        #expect(m.selected == [1, 2] && multi.answers.isEmpty)
        try m.handle(.enter)
        #expect(multi.answers.last?.answer == #"{"classes":["dog","bird"]}"# && m.selected.isEmpty)

        let review = FakeBackend(["a", "b"])
        let r = LabelSession(task: .review, classes: classes, backend: review)
        try r.start()
        try r.handle(.character("r")); try r.handle(.character("a"))
        #expect(review.answers.map(\.answer) == [#"{"review":"reject"}"#, #"{"review":"accept"}"#])
    }

    @Test func screenLayoutAndSmallWindows() throws {
        let backend = FakeBackend(["images/3/0003.png"])
        let t0 = Date(timeIntervalSince1970: 1000)
        let s = LabelSession(task: .classify, classes: classes, backend: backend, now: t0)
        try s.start(now: t0)
        let frame = Screen.frame(s, title: "queue q — ana", image: ["IMG1", "IMG2"], error: nil, progress: .init(done: 3, total: 10),
                                 columns: 80, rows: 24, now: t0.addingTimeInterval(4), color: false)
        #expect(frame.contains("curate label — queue q — ana — images/3/0003.png"))
        #expect(frame.contains("\u{1B}[2;1H\u{1B}[2KIMG1") && frame.contains("0 cat  1 dog  2 bird"))
        #expect(frame.contains("\u{1B}[24;1H\u{1B}[2Kqueue: 3/10 complete · 0/h · ETA – · this item 4.0 s · ? help · q quit"))
        let card = Screen.frame(s, title: "q", image: [], error: "images/3/0003.png: truncated PNG", progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: t0, color: false)
        #expect(card.contains("cannot show this item: images/3/0003.png: truncated PNG") && card.contains("s skips it, f flags it with a note"))
        // Per person: this annotator's answers, and the ETA of the items they can still answer at their pace.
        try s.handle(.character("0"), now: t0.addingTimeInterval(10))
        let mine = Screen.status(s, progress: .init(done: 3, total: 10, mine: 15, open: 4), columns: 120, rows: 24, now: t0.addingTimeInterval(60), color: false)
        #expect(mine.contains("you: 15 · queue: 3/10 complete · 60/h · your ETA 4:00 · ? help · q quit"))
        // At 30×8 the whole message shows, wrapped.
        let small = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 30, rows: 8, now: t0, color: false)
        for text in ["Window too small: 30x8; curate", "label needs 40x12 or more.", "Enlarge it, or press q to", "quit."] { #expect(small.contains(text)) }
    }

    @Test func rendererFitsTheWindowAndHonoursNoColor() {
        #expect(ImageRenderer.detect(["NO_COLOR": "1", "COLORTERM": "truecolor"]) == .ascii)
        #expect(ImageRenderer.detect(["COLORTERM": "truecolor"]) == .truecolor)
        #expect(ImageRenderer.detect(["TERM": "xterm-256color"]) == .colors256)
        #expect(ImageRenderer.fit(width: 512, height: 512, columns: 80, rows: 19) == (38, 19))
        let image = try! CurateImaging.PixelBuffer(width: 8, height: 8, format: .gray8, bytes: (0..<64).map { UInt8($0 * 4) })
        let lines = ImageRenderer(mode: .truecolor).render(image, columns: 20, rows: 10)
        #expect(lines.count == 10)
        #expect(lines.allSatisfy { $0.contains("\u{1B}[38;2;") || $0.contains("\u{1B}[48;2;") })
        let ascii = ImageRenderer(mode: .ascii).render(image, columns: 20, rows: 10)
        #expect(ascii.count == 10 && ascii.allSatisfy { !$0.contains("38;2;") })
    }

    @Test func boxReviewEditsConfirmsAndUndoes() throws {
        let backend = FakeBackend(["a.png", "b.png"])
        let start: [BoxReview.Box] = [.init(classID: 0, x: 10, y: 10, width: 50, height: 40), .init(classID: 1, x: 100, y: 20, width: 60, height: 60)]
        let s = LabelSession(task: .boxes, classes: classes, backend: backend,
                             boxSource: { item in BoxReview(boxes: item.path == "a.png" ? start : [], imageWidth: 200, imageHeight: 100) })
        try s.start()
        #expect(s.review?.boxes == start && s.review?.selected == 0 && s.review?.edge == .whole)
        // Tab to the second box; move it right by 1% (2 px) with l and down by 10% (10 px) with Shift+↓.
        try s.handle(.tab)
        try s.handle(.character("l"))
        try s.handle(.down(shift: true))
        #expect(s.review?.boxes[1] == .init(classID: 1, x: 102, y: 30, width: 60, height: 60))
        // Its left edge: ← widens it, ↑ does not apply; the right edge stops at the image border.
        try s.handle(.character("e"))
        #expect(s.review?.edge == .left)
        try s.handle(.left(shift: false))
        #expect(s.review?.boxes[1] == .init(classID: 1, x: 100, y: 30, width: 62, height: 60))
        try s.handle(.up(shift: false))
        #expect(s.message == "the left edge moves with ← →")
        try s.handle(.character("e")); try s.handle(.character("e"))
        #expect(s.review?.edge == .right)
        for _ in 0..<5 { try s.handle(.right(shift: true)) }
        #expect(s.review?.boxes[1].width == 100 && s.message == "at the image's edge")
        // Class by digit and by c; delete the first box; add one; undo the addition.
        try s.handle(.character("2"))
        #expect(s.review?.boxes[1].classID == 2)
        try s.handle(.character("c"))
        #expect(s.review?.boxes[1].classID == 0)
        try s.handle(.backTab)
        try s.handle(.character("x"))
        #expect(s.review?.boxes.count == 1 && s.review?.selected == 0)
        try s.handle(.character("n"))
        #expect(s.review?.boxes.last == .init(classID: 0, x: 75, y: 38, width: 50, height: 25) && s.review?.selected == 1)
        try s.handle(.character("u"))
        #expect(s.review?.boxes.count == 1 && s.message == "edit undone" && backend.answers.isEmpty)
        // Enter stores the boxes and moves on; the next item has none: Enter confirms "nothing to box".
        try s.handle(.enter)
        #expect(backend.answers.map(\.answer) == [#"{"boxes":[{"class":"cat","h":60,"w":100,"x":100,"y":30}],"edited":true}"#])
        #expect(s.current?.path == "b.png" && s.review?.boxes == [] && s.review?.selected == nil)
        try s.handle(.character("x"))
        #expect(s.message == "no box to delete")
        try s.handle(.enter)
        #expect(backend.answers.last?.answer == #"{"boxes":[],"edited":false}"# && s.mode == .finished)
        // Undo with no edits on screen takes back the last answer; the item comes back with its starting boxes.
        let again = FakeBackend(["a.png", "b.png"])
        let t = LabelSession(task: .boxes, classes: classes, backend: again, boxSource: { _ in BoxReview(boxes: start, imageWidth: 200, imageHeight: 100) })
        try t.start()
        try t.handle(.character("x"))
        try t.handle(.enter)
        #expect(again.answers.count == 1 && t.review?.boxes == start)
        try t.handle(.character("u"))
        #expect(again.answers.isEmpty && t.current?.path == "a.png" && t.review?.boxes == start)
    }

    @Test func boxesAreDrawnOverTheImageWithTheSelectedEdge() throws {
        let backend = FakeBackend(["a.png"])
        let s = LabelSession(task: .boxes, classes: classes, backend: backend,
                             boxSource: { _ in BoxReview(boxes: [.init(classID: 1, x: 0, y: 0, width: 100, height: 100)], imageWidth: 200, imageHeight: 200) })
        try s.start()
        // 80×24: the image area is 19 rows, a square image 38 columns; the box covers the top-left quarter.
        let plain = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: Date(), color: false)
        #expect(plain.contains("\u{1B}[2;1H#1 dog") && plain.contains("\u{1B}[11;1H#") && plain.contains("\u{1B}[3;19H#"))
        #expect(plain.contains("box 1/1 dog 0,0 100×100 · arrows move the whole box (e: edge)"))
        try s.handle(.character("e"))
        let left = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: Date(), color: false)
        #expect(left.contains("\u{1B}[3;1H*") && left.contains("\u{1B}[3;19H#"))
        let colored = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: Date(), color: true)
        #expect(colored.contains("┏1 dog") && colored.contains("\u{1B}[7m┃") && colored.contains(Screen.ansiColor("dog") + "■"))
    }

    /// A 12-class box queue and a 30-class multi-label queue: every class has a visible key or is reached by the
    /// picker, the legend wraps, help lists only keys that work.
    @Test func everyClassIsReachableAtAnySchemaSize() throws {
        let names = ["person", "car", "dog", "cat", "bus", "truck", "boat", "bird", "horse", "sheep", "bicycle", "clock"]
        let twelve = names.enumerated().map { (id: $0.offset, name: $0.element) }
        let backend = FakeBackend(["a.png"])
        let s = LabelSession(task: .boxes, classes: twelve, backend: backend,
                             boxSource: { _ in BoxReview(boxes: [.init(classID: 0, x: 0, y: 0, width: 10, height: 10)], imageWidth: 100, imageHeight: 100) })
        try s.start()
        // Box commands (e c x d n h j k l) are never class keys: bicycle is on a, clock on b.
        #expect(s.classes.map { $0.key } == Array("0123456789ab"))
        try s.handle(.character("b"))
        #expect(s.review?.boxes[0].classID == 11 && s.message == nil)
        try s.handle(.character("a"))
        #expect(s.review?.boxes[0].classID == 10)
        try s.handle(.character("c"))   // c still steps to the next class
        #expect(s.review?.boxes[0].classID == 11)
        let frame = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 120, rows: 30, now: Date(), color: false)
        #expect(frame.contains("■a bicycle") && frame.contains("■b clock") && !frame.contains("c: more classes"))
        try s.handle(.character("?"))
        let help = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 120, rows: 30, now: Date(), color: false)
        #expect(help.contains("a bicycle b clock") && help.contains("class key  class of the box") && !help.contains("0-9"))
        try s.handle(.character("x"))

        // 30 classes, multi-label, 120 columns: the legend takes several lines and shows every class.
        let thirty = (0..<30).map { (id: $0, name: "class\($0)") }
        let m = LabelSession(task: .multilabel, classes: thirty, backend: FakeBackend(["a.png"]))
        try m.start()
        let layout = Screen.layout(m, columns: 120, rows: 40)
        #expect(layout.legend.count > 1 && layout.imageRows == 40 - 4 - layout.legend.count)
        let shown = layout.legend.joined(separator: "  ")
        for c in m.classes.filter({ $0.key != nil }) { #expect(shown.contains("\(c.key!)[ ] \(c.name)")) }
        // Keys run out after 10 digits + 19 letters: the rest say · and the picker reaches them.
        #expect(m.classes.filter { $0.key == nil }.map(\.name) == ["class29"] && shown.contains("·[ ] class29"))
        try m.handle(.character("/"))
        for c in "s29" { try m.handle(.character(c)) }
        #expect(m.matches("s29").map(\.name) == ["class29"])
        // Case and accents are ignored; names starting with the text come first.
        let pastry = LabelSession(task: .classify, classes: [(0, "cake"), (1, "Éclair"), (2, "pancake")], backend: FakeBackend([]))
        #expect(pastry.matches("ecl").map(\.name) == ["Éclair"] && pastry.matches("CAKE").map(\.name) == ["cake", "pancake"])
        try m.handle(.enter)
        #expect(m.selected == [29] && m.mode == .labeling)
        // A window too short for the whole legend says how many more there are.
        let short = Screen.layout(m, columns: 60, rows: 13)
        #expect(short.legend.count == 3 && short.legend.last!.contains("more (/ picks)"))
        // The picker: typing filters, arrows move, Esc cancels, Enter on nothing says so.
        try m.handle(.character("/"))
        for c in "zzz" { try m.handle(.character(c)) }
        try m.handle(.enter)
        #expect(m.message == "no class matches zzz")
        try m.handle(.escape)
        #expect(m.mode == .labeling)
        try m.handle(.character("/")); try m.handle(.character("1")); try m.handle(.down(shift: false)); try m.handle(.enter)
        #expect(m.selected == [29, m.matches("1")[1].id])
    }

    /// The session's answers listed, newest first; any of them taken back to answer again.
    @Test func historyStepsBackToAnyAnswer() throws {
        let backend = FakeBackend(["a", "b", "c", "d"])
        let s = LabelSession(task: .classify, classes: classes, backend: backend)
        try s.start()
        try s.handle(.character("0")); try s.handle(.character("1")); try s.handle(.character("s"))
        #expect(s.message == "saved: c → skipped (u undoes, p lists your answers)")
        #expect(s.history.map(\.summary) == ["cat", "dog", "skipped"])
        try s.handle(.character("p"))
        #expect(s.mode == .history(0))
        let list = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 4), columns: 80, rows: 24, now: Date(), color: false)
        #expect(list.contains("> skipped  ←  c") && list.contains("  dog  ←  b") && list.contains("  cat  ←  a"))
        try s.handle(.down(shift: false)); try s.handle(.down(shift: false))
        try s.handle(.enter)
        // a is back (d, which was on screen, returns to the queue); its old answer is gone; answer it anew.
        #expect(s.current?.path == "a" && s.message == "undone: cat on a; answer it again")
        #expect(backend.answers.map(\.path) == ["b", "c"] && s.history.map(\.path) == ["b", "c"])
        try s.handle(.character("2"))
        #expect(backend.answers.last?.answer == #"{"class":"bird"}"# && s.current?.path == "d")
        // The finished screen: no class-key hint, no item clock.
        try s.handle(.character("0"))
        let done = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 4, total: 4), columns: 100, rows: 24, now: Date(), color: false)
        #expect(s.mode == .finished && done.contains("Nothing left to label") && !done.contains("press a class key") && !done.contains("this item"))
        #expect(try s.handle(.enter) && s.mode == .finished)   // Enter does not quit
        let later = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 4, total: 4), columns: 100, rows: 24, now: Date(), color: false)
        #expect(later.contains("u takes back your last answer"))
    }

    /// Mouse: a drag draws a box, a click selects one, dragging its inside moves it and its border an edge; undo
    /// takes each back. Cells map to pixels through the grid the screen draws (zoom included).
    @Test func mouseDrawsSelectsAndMovesBoxes() throws {
        let backend = FakeBackend(["a.png"])
        let s = LabelSession(task: .boxes, classes: classes, backend: backend,
                             boxSource: { _ in BoxReview(boxes: [.init(classID: 2, x: 100, y: 100, width: 100, height: 100)], imageWidth: 200, imageHeight: 200) })
        try s.start()
        s.window = (80, 24)
        // 80×24 with one legend line: 19 image rows, a square image is 38×19 cells; one cell ≈ 5.26 × 10.5 px.
        let map = try #require(s.cellMap)
        #expect(map.columns == 38 && map.rows == 19)
        // Drag from cell (2,1) to (9,5) (screen column 3 row 3 → column 10 row 7): a new box of the selected box's class.
        try s.handle(.mouse(.init(.press, column: 3, row: 3)))
        try s.handle(.mouse(.init(.drag, column: 10, row: 7)))
        try s.handle(.mouse(.init(.release, column: 10, row: 7)))
        let drawn = try #require(s.review?.boxes.last)
        #expect(s.review?.boxes.count == 2 && s.review?.selected == 1 && drawn.classID == 2)
        #expect(drawn.x == 11 && drawn.y == 11 && drawn.width == 42 && drawn.height == 52)
        #expect(s.message == "box 2 drawn: a class key sets its class")
        // A drag starting inside a box that is not selected draws a nested box (then undone).
        let inside = map.cells(of: s.review!.boxes[0])
        try s.handle(.mouse(.init(.press, column: inside.c0 + 4, row: inside.r0 + 4)))
        try s.handle(.mouse(.init(.drag, column: inside.c0 + 6, row: inside.r0 + 6)))
        try s.handle(.mouse(.init(.release, column: inside.c0 + 6, row: inside.r0 + 6)))
        #expect(s.review?.boxes.count == 3 && s.review?.boxes[0] == .init(classID: 2, x: 100, y: 100, width: 100, height: 100))
        try s.handle(.character("u"))
        #expect(s.review?.boxes.count == 2)
        // Click inside the first box selects it; then dragging its inside moves it, its left border that edge.
        try s.handle(.mouse(.init(.press, column: inside.c0 + 5, row: inside.r0 + 4)))
        try s.handle(.mouse(.init(.release, column: inside.c0 + 5, row: inside.r0 + 4)))
        #expect(s.review?.selected == 0 && s.review?.boxes[0] == .init(classID: 2, x: 100, y: 100, width: 100, height: 100))
        try s.handle(.mouse(.init(.press, column: inside.c0 + 4, row: inside.r0 + 4)))
        try s.handle(.mouse(.init(.drag, column: inside.c0 + 2, row: inside.r0 + 3)))
        try s.handle(.mouse(.init(.release, column: inside.c0 + 2, row: inside.r0 + 3)))
        #expect(s.review?.boxes[0] == .init(classID: 2, x: 89, y: 89, width: 100, height: 100))
        let moved = map.cells(of: s.review!.boxes[0])
        try s.handle(.mouse(.init(.press, column: moved.c0 + 1, row: moved.r0 + 4)))
        try s.handle(.mouse(.init(.drag, column: moved.c0 + 1 + 4, row: moved.r0 + 4)))
        try s.handle(.mouse(.init(.release, column: moved.c0 + 1 + 4, row: moved.r0 + 4)))
        let b = try #require(s.review?.boxes[0])
        #expect(b.x == (map.left(moved.c0 + 4)).rounded() && b.x + b.width == 189 && b.y == 89 && b.height == 100)
        // Undo: the edge, the move, the new box.
        try s.handle(.character("u")); try s.handle(.character("u"))
        #expect(s.review?.boxes[0] == .init(classID: 2, x: 100, y: 100, width: 100, height: 100))
        try s.handle(.character("u"))
        #expect(s.review?.boxes.count == 1)
        // A click on empty image draws nothing.
        try s.handle(.mouse(.init(.press, column: 2, row: 20)))
        try s.handle(.mouse(.init(.release, column: 2, row: 20)))
        #expect(s.review?.boxes.count == 1 && s.message == nil)
        // A press beside the image (column 60 of 38) does nothing; a drag out of it stops at its border.
        try s.handle(.mouse(.init(.press, column: 60, row: 5)))
        try s.handle(.mouse(.init(.drag, column: 70, row: 9)))
        try s.handle(.mouse(.init(.release, column: 70, row: 9)))
        #expect(s.review?.boxes.count == 1)
        try s.handle(.mouse(.init(.press, column: 30, row: 5)))
        try s.handle(.mouse(.init(.drag, column: 70, row: 40)))
        try s.handle(.mouse(.init(.release, column: 70, row: 40)))
        #expect(s.review?.boxes.last.map { $0.x + $0.width == 200 && $0.y + $0.height == 200 } == true)
        // Terminal reports parse: SGR 1006 press, drag, release, wheel.
        #expect(Mouse(sgr: "0;12;7", released: false) == .init(.press, column: 12, row: 7))
        #expect(Mouse(sgr: "32;13;7", released: false) == .init(.drag, column: 13, row: 7))
        #expect(Mouse(sgr: "0;13;7", released: true) == .init(.release, column: 13, row: 7))
        #expect(Mouse(sgr: "64;1;1", released: false)?.action == .wheelUp && Mouse(sgr: "x;1", released: false) == nil)
    }

    /// Zoom and pan: + doubles, arrows pan in view mode, boxes are drawn at the zoomed scale, a new item starts whole.
    @Test func zoomAndPan() throws {
        let backend = FakeBackend(["a.png", "b.png"])
        let s = LabelSession(task: .boxes, classes: classes, backend: backend,
                             boxSource: { _ in BoxReview(boxes: [.init(classID: 1, x: 150, y: 150, width: 40, height: 40)], imageWidth: 200, imageHeight: 200) })
        try s.start()
        s.window = (80, 24)
        #expect(s.viewRect(width: 200, height: 200) == (0, 0, 200, 200))
        try s.handle(.character("+"))
        #expect(s.zoom == 2 && s.viewRect(width: 200, height: 200) == (50, 50, 100, 100))
        // Outside view mode the arrows still move the box; in view mode they pan (a quarter of the view).
        try s.handle(.character("z"))
        #expect(s.viewMode && s.zoom == 2)
        try s.handle(.right(shift: false)); try s.handle(.down(shift: false)); try s.handle(.character("l"))
        #expect(s.viewRect(width: 200, height: 200) == (100, 75, 100, 100) && s.review?.boxes[0].x == 150)
        // The box (150..190) sits at cells 19..34 of a 38-column grid showing x 100..200.
        let zoomed = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: Date(), color: false)
        #expect(zoomed.contains("\u{1B}[16;20H#1 dog") && zoomed.contains("view mode (2×)"))
        try s.handle(.escape)
        try s.handle(.right(shift: false))
        #expect(!s.viewMode && s.review?.boxes[0].x == 152)
        try s.handle(.mouse(.init(.wheelUp, column: 1, row: 1)))
        #expect(s.zoom == 4)
        try s.handle(.character("-")); try s.handle(.character("-"))
        #expect(s.zoom == 1 && s.viewRect(width: 200, height: 200) == (0, 0, 200, 200))
        try s.handle(.character("+"))
        try s.handle(.enter)
        #expect(s.current?.path == "b.png" && s.zoom == 1)
        // Classification: arrows pan whenever zoomed in.
        let c = LabelSession(task: .classify, classes: classes, backend: FakeBackend(["x.png"]))
        try c.start()
        try c.handle(.left(shift: false))
        #expect(c.message == "zoom in first: + (or z)")
        try c.handle(.character("+")); try c.handle(.left(shift: false))
        #expect(c.viewRect(width: 100, height: 100) == (12.5, 25, 50, 50))
    }

    /// Keys read from the terminal: a key typed right after Escape is not lost; SGR mouse reports and arrows parse.
    @Test func keysAfterEscapeAreKeptAndMouseReportsParse() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let bytes = Array("\u{1B}+\u{1B}[<0;5;7M\u{1B}[A".utf8)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        let terminal = Terminal(input: fds[0], output: fds[1])
        #expect(terminal.readKey(timeout: 1) == .escape)
        #expect(terminal.readKey(timeout: 1) == .character("+"))
        #expect(terminal.readKey(timeout: 1) == .mouse(.init(.press, column: 5, row: 7)))
        #expect(terminal.readKey(timeout: 1) == .up(shift: false))
    }

    /// Long paths keep their end (the file name); the title gives way first.
    @Test func longPathsAreCutInTheMiddle() throws {
        let path = "datasets/coco/val2017/some/deeply/nested/folder/000000397133.jpg"
        let s = LabelSession(task: .classify, classes: classes, backend: FakeBackend([path]))
        try s.start()
        let frame = Screen.frame(s, title: "queue round1 — ana", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 60, rows: 24, now: Date(), color: false)
        let title = try #require(frame.components(separatedBy: "\u{1B}[1;1H\u{1B}[2K").last?.components(separatedBy: "\u{1B}[").first)
        #expect(title.count <= 60 && title.hasSuffix("000000397133.jpg") && title.contains("…"))
        #expect(Screen.clipMiddle("abcdefghij", 7) == "ab…ghij")
        let image = try CurateImaging.PixelBuffer(width: 4, height: 3, format: .gray8, bytes: Array(0..<12))
        #expect(image.cropped(x: 1, y: 1, width: 2, height: 2).bytes == [5, 6, 9, 10])
    }

    /// Prefetched items are drawn once, in the background, and handed over when their turn comes.
    @Test func prefetcherRendersAheadOnce() throws {
        let calls = Mutex<[String]>([])
        let p = Prefetcher(capacity: 3) { path, columns, rows in
            calls.withLock { $0.append(path) }
            return .init(lines: ["\(path) \(columns)x\(rows)"], error: path.hasSuffix("bad") ? "cannot decode" : nil)
        }
        p.prefetch(["a", "b"], columns: 80, rows: 24)
        #expect(p.take("a", columns: 80, rows: 24).lines == ["a 80x24"])
        for _ in 0..<200 where !p.isReady("b", columns: 80, rows: 24) { Thread.sleep(forTimeInterval: 0.01) }
        #expect(p.isReady("b", columns: 80, rows: 24))
        #expect(p.take("b", columns: 80, rows: 24).lines == ["b 80x24"])
        // Another window size is a different drawing; an item never prefetched is drawn on the spot.
        #expect(p.take("b", columns: 100, rows: 30).lines == ["b 100x30"])
        #expect(p.take("bad", columns: 80, rows: 24).error == "cannot decode")
        #expect(calls.withLock { $0.sorted() } == ["a", "b", "b", "bad"])
        // At capacity, the oldest finished drawings make room: a and b go, the newest stay.
        p.prefetch(["c", "d"], columns: 80, rows: 24)
        _ = p.take("c", columns: 80, rows: 24)
        _ = p.take("d", columns: 80, rows: 24)
        #expect(!p.isReady("a", columns: 80, rows: 24) && p.isReady("c", columns: 80, rows: 24) && p.isReady("d", columns: 80, rows: 24))
    }

    /// Kitty and sixel graphics where the terminal has them (not inside tmux), an override, and their output.
    @Test func pixelGraphicsModes() throws {
        #expect(ImageRenderer.detect(["TERM": "xterm-kitty", "COLORTERM": "truecolor"]) == .kitty)
        #expect(ImageRenderer.detect(["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]) == .kitty)
        #expect(ImageRenderer.detect(["TERM": "foot"]) == .sixel)
        #expect(ImageRenderer.detect(["TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0", "COLORTERM": "truecolor"]) == .truecolor)
        #expect(ImageRenderer.detect(["TERM": "tmux-256color", "TERM_PROGRAM": "WezTerm"]) == .colors256)
        #expect(ImageRenderer.detect(["CURATE_GRAPHICS": "sixel", "TERM": "xterm"]) == .sixel)
        #expect(ImageRenderer.detect(["TERM": "xterm-kitty", "NO_COLOR": "1"]) == .ascii)
        let image = try CurateImaging.PixelBuffer(width: 16, height: 16, format: .rgb8, bytes: (0..<768).map { UInt8($0 % 256) })
        let kitty = ImageRenderer(mode: .kitty, cellSize: (8, 16)).render(image, columns: 20, rows: 10)
        #expect(kitty.count == 10 && kitty[0].hasPrefix("\u{1B}_G") && kitty.dropFirst().allSatisfy(\.isEmpty))
        let sixel = ImageRenderer(mode: .sixel, cellSize: (8, 16)).render(image, columns: 20, rows: 10)
        #expect(sixel[0].hasPrefix("\u{1B}P") && sixel[0].contains("q") && sixel[0].hasSuffix("\u{1B}\\"))
        // The frame leaves the rows under a pixel image alone (clearing them would erase a sixel).
        let backend = FakeBackend(["a.png"])
        let s = LabelSession(task: .classify, classes: classes, backend: backend)
        try s.start()
        let frame = Screen.frame(s, title: "q", image: sixel, error: nil, progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: Date(), color: true)
        #expect(frame.contains("\u{1B}[2;1H\u{1B}[2K\u{1B}P") && !frame.contains("\u{1B}[3;1H"))
    }

    @Test func textIsWrappedForTheScreen() {
        #expect(Screen.wrap("the quick brown fox jumps over the lazy dog", 10) == ["the quick", "brown fox", "jumps over", "the lazy", "dog"])
        #expect(Screen.wrap("one\n\ntwo\tthree", 20) == ["one", "", "two three"])
        #expect(Screen.wrap("abcdefghijkl mn", 5) == ["abcde", "fghij", "kl mn"])
        #expect(Screen.wrap("a\u{1B}[2Jb c", 10) == ["a[2Jb c"])
        #expect(Screen.wrap("1 2 3 4 5 6", 1, rows: 3) == ["1", "2", "… 4 more lines"])
    }
}
