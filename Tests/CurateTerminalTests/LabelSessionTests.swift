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
        guard let last = answers.popLast() else { return nil }
        if let held { pending.insert(held, at: 0) }
        held = QueueItem(path: last.path)
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
        #expect(s.current?.path == "a" && backend.answers.isEmpty && s.message == "undone: a is back")
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
        #expect(s.message == "no class on key 9 (? for help)" && backend.answers.count == 3)
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
        #expect(frame.contains("\u{1B}[24;1H\u{1B}[2Kdone 3/10 · 0/h · ETA – · this item 4.0 s · ? help · q quit"))
        let small = Screen.frame(s, title: "q", image: [], error: nil, progress: .init(done: 0, total: 1), columns: 30, rows: 10, now: t0, color: false)
        #expect(small.contains("terminal too small: 40x12 or …"))
        let card = Screen.frame(s, title: "q", image: [], error: "images/3/0003.png: truncated PNG", progress: .init(done: 0, total: 1), columns: 80, rows: 24, now: t0, color: false)
        #expect(card.contains("cannot show this item: images/3/0003.png: truncated PNG") && card.contains("s skips it, f flags it with a note"))
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
