@testable import CurateTerminal
import CurateImaging
import CurateVersioning
import Foundation
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
    func store(path: String, answer: String, seconds: Double) throws {
        answers.append((path, answer, seconds))
        held = nil
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
}
