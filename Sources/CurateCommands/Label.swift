import ArgumentParser
import CurateCore
import CurateImaging
import CurateTerminal
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct LabelCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "label",
            abstract: "Open a full-screen labeling session on a queue, in this terminal.",
            discussion: """
                Shows each leased item's image in the terminal (chafa: kitty graphics in kitty, WezTerm and Ghostty, \
                sixels in foot and mlterm, outside tmux/screen; else truecolor symbols when COLORTERM says so, 256 \
                colours otherwise; plain ASCII with NO_COLOR; CURATE_GRAPHICS=kitty|sixel|truecolor|256|ascii forces \
                one) or its text wrapped (.txt, .md, .json, …), scaled to the window and redrawn on resize, with \
                the class legend, the model's suggestion, and a status line (done/total, items per hour, ETA, \
                time on this item). One key per decision; ? lists them. Box queues draw the boxes over the image \
                (class colours; the selected one heavier): Tab selects, e picks the whole box or an edge, arrows or \
                hjkl move it 1% (Shift or HJKL 10%), 0-9 or c change its class, x deletes, n adds, u undoes, Enter \
                stores the boxes. The next items are decoded and drawn in the background while you look at this one. Every answer is stored in its own \
                transaction before the next item appears: a session killed at any moment loses at most the item on \
                screen, and reopening it resumes there (the lease is still this annotator's). The terminal is \
                restored on q, Ctrl-C, SIGTERM, SIGHUP (a closed ssh) and crashes. Works from 80x24 up; a smaller \
                window gets a message instead of the image.

                Example:
                  curate label --queue round1 --annotator ana
                """)

        @Option(help: "The queue.")
        var queue: String

        @Option(help: "Who is labeling (recorded with every answer).")
        var annotator: String

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, store) = try repository.openWithStore()
                let summary = try store.queueSummary(queue)
                guard !summary.closed else { throw CommandFailure(message: "queue \(queue) is closed", kind: .usage) }
                guard !annotator.isEmpty, !annotator.contains(":"), !annotator.contains(where: \.isNewline) else {
                    throw CommandFailure(message: "\(annotator): annotator ids are one line without ':'", kind: .usage)
                }
                let labels = try repo.labels(at: "HEAD")
                let schema = labels.schema
                let files = try repo.files(at: "HEAD")
                let hashes = Dictionary(files.map { ($0.path, $0.hash) }, uniquingKeysWith: { a, _ in a })
                let sizes = Dictionary(files.compactMap { f in f.width.flatMap { w in f.height.map { (f.path, (w, $0)) } } }, uniquingKeysWith: { a, _ in a })
                let terminal = Terminal()
                guard terminal.isTTY else { throw CommandFailure(message: "curate label needs a terminal (stdin and stdout)", kind: .usage) }
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
                        return BoxReview(boxes: try suggestedBoxes(item, schema: schema) ?? committed[item.path] ?? [], imageWidth: w, imageHeight: h)
                    }
                }
                let session = LabelSession(task: summary.spec.task, classes: schema.classes.map { ($0.id, $0.name) },
                                           instructions: summary.spec.instructions, backend: QueueBackend(store: store, queue: queue, annotator: annotator),
                                           boxSource: boxSource)
                let detected = ImageRenderer.detect()
                // Boxes are drawn as characters over the image: box queues keep to symbols.
                let pixelsWithBoxes = (detected == .kitty || detected == .sixel) && summary.spec.task == .boxes
                let renderer = ImageRenderer(mode: pixelsWithBoxes ? .truecolor : detected, cellSize: terminal.cellSize ?? (10, 20))
                let prefetcher = Prefetcher { path, columns, rows in
                    do {
                        guard let hash = hashes[path] else { throw CommandFailure(message: "\(path) is not in the repository at HEAD", kind: .notFound) }
                        if textExtensions.contains((path as NSString).pathExtension.lowercased()) {
                            guard let text = String(data: try repo.data(of: hash), encoding: .utf8) else {
                                throw CommandFailure(message: "\(path): not UTF-8 text", kind: .invalidData)
                            }
                            return .init(lines: Screen.wrap(text, columns, rows: Screen.imageRows(rows)), error: nil)
                        }
                        let image = try ImageDecoder().decode([UInt8](try repo.data(of: hash)), source: path).pixels
                        return .init(lines: renderer.render(image, columns: columns, rows: Screen.imageRows(rows)), error: nil)
                    } catch {
                        return .init(lines: [], error: "\(error)")
                    }
                }
                try terminal.enter()
                defer { terminal.restore() }
                try session.start()
                var dirty = true
                var prefetchedFor: String?
                while true {
                    if terminal.takeResize() { dirty = true }
                    if dirty {
                        let (columns, rows) = terminal.size
                        var shown = Prefetcher.Rendered(lines: [], error: nil)
                        if let item = session.current, columns >= Screen.minimum.columns, rows >= Screen.minimum.rows {
                            shown = prefetcher.take(item.path, columns: columns, rows: rows)
                        }
                        let q = try store.queueSummary(queue)
                        terminal.write(Screen.frame(session, title: "queue \(queue) — \(annotator)", image: shown.lines, error: shown.error,
                                                    progress: .init(done: q.done, total: q.items), columns: columns, rows: rows, now: Date(),
                                                    color: renderer.mode != .ascii))
                        dirty = false
                        // While the annotator looks at this item, draw the ones likely to come next.
                        if let item = session.current, prefetchedFor != item.path {
                            prefetchedFor = item.path
                            prefetcher.prefetch(try store.upcoming(queue, annotator: annotator), columns: columns, rows: rows)
                        }
                    }
                    guard let key = terminal.readKey(timeout: 1) else {   // tick the clock on the status line
                        let (columns, rows) = terminal.size
                        if columns >= Screen.minimum.columns, rows >= Screen.minimum.rows {
                            let q = try store.queueSummary(queue)
                            terminal.write(Screen.status(session, progress: .init(done: q.done, total: q.items), columns: columns, rows: rows,
                                                         now: Date(), color: renderer.mode != .ascii))
                        }
                        continue
                    }
                    if case .interrupt = key { break }
                    guard try session.handle(key) else { break }
                    dirty = true
                }
                terminal.restore()
                Console.out("\(session.answeredThisSession) answers stored in queue \(queue) by \(annotator)")
            }
        }
    }
}

/// Boxes a queue item suggests: `{"boxes": [{"class": NAME, "x", "y", "w", "h"}, …]}` in pixels (nil when the item
/// suggests none).
func suggestedBoxes(_ item: QueueItem, schema: LabelSchema) throws -> [BoxReview.Box]? {
    guard let json = item.suggestion, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
          let list = object["boxes"] as? [[String: Any]] else { return nil }
    return try list.map { b in
        guard let name = b["class"] as? String, let id = schema.id(named: name) else {
            throw CommandFailure(message: "\(item.path): suggested box with class \(b["class"].map { "\($0)" } ?? "none"), not a class of the schema", kind: .invalidData)
        }
        let v = { (k: String) in (b[k] as? NSNumber)?.doubleValue ?? .nan }
        let box = BoxReview.Box(classID: id, x: v("x"), y: v("y"), width: v("w"), height: v("h"))
        guard [box.x, box.y, box.width, box.height].allSatisfy(\.isFinite), box.width > 0, box.height > 0 else {
            throw CommandFailure(message: "\(item.path): suggested box needs finite x, y and positive w, h", kind: .invalidData)
        }
        return box
    }
}

/// Items shown as text rather than pixels.
let textExtensions: Set<String> = ["txt", "text", "md", "csv", "tsv", "json", "jsonl", "log"]
