import CurateCore
import CurateImaging
import CurateStore
import CurateTerminal
import CurateVersioning
import Foundation

/// `curate label` as a library call: a full-screen session in this terminal on a queue of the repository's items.
package enum LabelingSession {
    /// Runs the session until the annotator quits (q, Ctrl-C) or the queue has nothing left for them; returns how
    /// many answers this session stored. Every answer is stored before the next item appears.
    package static func run(queue: String, annotator: String, repository repo: Repository, store: any LabelingStore) throws -> Int {
        let summary = try store.queueSummary(queue)
        guard !summary.closed else { throw StoreError(.usage, "queue \(queue) is closed") }
        try QueueRules.checkAnnotator(annotator)
        let labels = try repo.labels(at: "HEAD")
        let schema = labels.schema
        let files = try repo.files(at: "HEAD")
        let hashes = Dictionary(files.map { ($0.path, $0.hash) }, uniquingKeysWith: { a, _ in a })
        let sizes = Dictionary(files.compactMap { f in f.width.flatMap { w in f.height.map { (f.path, (w, $0)) } } }, uniquingKeysWith: { a, _ in a })
        let terminal = Terminal()
        guard terminal.isTTY else { throw TerminalError("curate label needs a terminal (stdin and stdout)") }
        var boxSource: ((QueueItem) throws -> BoxReview)?
        if summary.spec.task == .boxes {
            var committed: [String: [BoxReview.Box]] = [:]
            for a in labels.annotations {
                if case .object(let o) = a.label, let b = o.box {
                    committed[a.item, default: []].append(.init(classID: o.classID, x: b.x, y: b.y, width: b.width, height: b.height))
                }
            }
            boxSource = { item in
                let (w, h) = sizes[item.path] ?? (1, 1)
                return BoxReview(boxes: try Answers.suggestedBoxes(item, schema: schema) ?? committed[item.path] ?? [], imageWidth: w, imageHeight: h)
            }
        }
        let session = LabelSession(task: summary.spec.task, classes: schema.classes.map { ($0.id, $0.name) },
                                   instructions: summary.spec.instructions,
                                   backend: QueueBackend(store: store, queue: queue, annotator: annotator, afterAnswer: {
                                       // The queue's vetting policy, on this answer (a failure to judge never loses the stored answer).
                                       _ = try? Vetting.afterAnswer(queue: queue, annotator: annotator, store: store)
                                   }),
                                   boxSource: boxSource)
        session.leaseSeconds = summary.spec.leaseSeconds
        let detected = ImageRenderer.detect()
        // Boxes are drawn as characters over the image: box queues keep to symbols.
        let pixelsWithBoxes = (detected == .kitty || detected == .sixel) && summary.spec.task == .boxes
        let renderer = ImageRenderer(mode: pixelsWithBoxes ? .truecolor : detected, cellSize: terminal.cellSize ?? (10, 20))
        let decode = { @Sendable (path: String) throws -> PixelBuffer in
            guard let hash = hashes[path] else { throw StoreError(.notFound, "\(path) is not in the repository at HEAD") }
            return try ImageDecoder().decode([UInt8](try repo.data(of: hash)), source: path).pixels
        }
        // Drawn for the image area (`rows` here are its rows, not the window's).
        let prefetcher = Prefetcher { path, columns, rows in
            do {
                if Answers.isText(path) {
                    guard let hash = hashes[path] else { throw StoreError(.notFound, "\(path) is not in the repository at HEAD") }
                    guard let text = String(data: try repo.data(of: hash), encoding: .utf8) else { throw InputError("\(path): not UTF-8 text") }
                    return .init(lines: Screen.wrap(text, columns, rows: rows), error: nil)
                }
                return .init(lines: renderer.render(try decode(path), columns: columns, rows: rows), error: nil)
            } catch {
                return .init(lines: [], error: "\(error)")
            }
        }
        // Zoomed in: the part in view, drawn on the spot from the decoded image (kept while the item is on screen).
        var decoded: (path: String, image: PixelBuffer)?
        func zoomed(_ item: QueueItem, columns: Int, rows: Int) -> Prefetcher.Rendered {
            do {
                if decoded?.path != item.path { decoded = (item.path, try decode(item.path)) }
                let image = decoded!.image
                let v = session.viewRect(width: image.width, height: image.height)
                return .init(lines: renderer.render(image.cropped(x: Int(v.x.rounded()), y: Int(v.y.rounded()), width: Int(v.width.rounded()),
                                                                  height: Int(v.height.rounded())), columns: columns, rows: rows), error: nil)
            } catch {
                return .init(lines: [], error: "\(error)")
            }
        }
        func progress() throws -> Screen.Progress {
            let q = try store.queueSummary(queue)
            let mine = try store.annotatorProgress(queue, annotator: annotator)
            return .init(done: q.done, total: q.items, mine: mine.answers, open: mine.open)
        }
        try terminal.enter()
        defer { terminal.restore() }
        if summary.spec.task == .boxes { terminal.enableMouse() }
        // A shared store that lost its server retries in the background of a call; say so on the status line
        // meanwhile (the next frame replaces it). Nothing is acknowledged before the database committed it.
        let place = store.location
        store.onReconnect { attempt in
            let line = "reconnecting to \(place)… (attempt \(attempt); your answers so far are stored)"
            let text = "\u{1b}7\u{1b}[999;1H\u{1b}[2K" + line + "\u{1b}8"
            _ = text.withCString { write(1, $0, strlen($0)) }
        }
        defer { store.onReconnect { _ in } }
        try session.start()
        var dirty = true
        var prefetchedFor: String?
        while true {
            if terminal.takeResize() { dirty = true }
            if dirty {
                let (columns, rows) = terminal.size
                session.window = (columns, rows)
                let imageRows = Screen.layout(session, columns: columns, rows: rows).imageRows
                var shown = Prefetcher.Rendered(lines: [], error: nil)
                if let item = session.current, columns >= Screen.minimum.columns, rows >= Screen.minimum.rows {
                    shown = session.zoom > 1 && !Answers.isText(item.path) ? zoomed(item, columns: columns, rows: imageRows)
                        : prefetcher.take(item.path, columns: columns, rows: imageRows)
                }
                terminal.write(Screen.frame(session, title: "queue \(queue) — \(annotator)", image: shown.lines, error: shown.error,
                                            progress: try progress(), columns: columns, rows: rows, now: Date(),
                                            color: renderer.mode != .ascii))
                dirty = false
                // While the annotator looks at this item, draw the ones likely to come next.
                if let item = session.current, prefetchedFor != item.path {
                    prefetchedFor = item.path
                    prefetcher.prefetch(try store.upcoming(queue, annotator: annotator), columns: columns, rows: imageRows)
                }
            }
            guard let key = terminal.readKey(timeout: 1) else {   // tick the clock on the status line
                if session.mode == .finished, store.workMayHaveArrived(in: queue, now: Date()), try session.lookForNewWork() { dirty = true; continue }
                let before = session.current?.path
                try session.tick()
                if session.current?.path != before { dirty = true; continue }
                let (columns, rows) = terminal.size
                if columns >= Screen.minimum.columns, rows >= Screen.minimum.rows {
                    terminal.write(Screen.status(session, progress: try progress(), columns: columns, rows: rows,
                                                 now: Date(), color: renderer.mode != .ascii))
                }
                continue
            }
            if case .interrupt = key { break }
            // Mouse motion with nothing changed needs no new frame (a drag reports every cell it crosses).
            let before = (session.review, session.zoom, session.center.x, session.center.y, session.message)
            guard try session.handle(key) else { break }
            if case .mouse = key, before == (session.review, session.zoom, session.center.x, session.center.y, session.message) { continue }
            dirty = true
        }
        terminal.restore()
        return session.answeredThisSession
    }
}
