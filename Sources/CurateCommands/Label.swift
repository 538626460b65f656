import ArgumentParser
import CurateCore
import CurateImaging
import CurateTerminal
import CurateVersioning
import Foundation

extension Curate {
    struct LabelCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "label",
            abstract: "Open a full-screen labeling session on a queue, in this terminal.",
            discussion: """
                Shows each leased item's image in the terminal (chafa: truecolor symbols when COLORTERM says \
                so, else 256 colours; plain ASCII with NO_COLOR), scaled to the window and redrawn on resize, with \
                the class legend, the model's suggestion, and a status line (done/total, items per hour, ETA, \
                time on this item). One key per decision; ? lists them. Every answer is stored in its own \
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
                let repo = try repository.open()
                let summary = try repo.queueSummary(queue)
                guard !summary.closed else { throw CommandFailure(message: "queue \(queue) is closed", exitCode: ExitCodes.usage) }
                guard !annotator.isEmpty, !annotator.contains(":"), !annotator.contains(where: \.isNewline) else {
                    throw CommandFailure(message: "\(annotator): annotator ids are one line without ':'", exitCode: ExitCodes.usage)
                }
                let schema = try repo.labels(at: "HEAD").schema
                let hashes = Dictionary(try repo.files(at: "HEAD").map { ($0.path, $0.hash) }, uniquingKeysWith: { a, _ in a })
                let terminal = Terminal()
                guard terminal.isTTY else { throw CommandFailure(message: "curate label needs a terminal (stdin and stdout)", exitCode: ExitCodes.usage) }
                let session = LabelSession(task: summary.spec.task, classes: schema.classes.map { ($0.id, $0.name) },
                                           instructions: summary.spec.instructions, backend: QueueBackend(repository: repo, queue: queue, annotator: annotator))
                let renderer = ImageRenderer(mode: ImageRenderer.detect())
                try terminal.enter()
                defer { terminal.restore() }
                try session.start()
                var cache: (path: String, columns: Int, rows: Int, lines: [String], error: String?)?
                var dirty = true
                while true {
                    if terminal.takeResize() { dirty = true; cache = nil }
                    if dirty {
                        let (columns, rows) = terminal.size
                        var lines: [String] = [], failure: String?
                        if let item = session.current, columns >= Screen.minimum.columns, rows >= Screen.minimum.rows {
                            if let c = cache, c.path == item.path, c.columns == columns, c.rows == rows {
                                (lines, failure) = (c.lines, c.error)
                            } else {
                                do {
                                    guard let hash = hashes[item.path] else { throw CommandFailure(message: "\(item.path) is not in the repository at HEAD", exitCode: 1) }
                                    let image = try ImageDecoder().decode([UInt8](try repo.data(of: hash)), source: item.path).pixels
                                    lines = renderer.render(image, columns: columns, rows: Screen.imageRows(rows))
                                } catch {
                                    failure = "\(error)"
                                }
                                cache = (item.path, columns, rows, lines, failure)
                            }
                        }
                        let q = try repo.queueSummary(queue)
                        terminal.write(Screen.frame(session, title: "queue \(queue) — \(annotator)", image: lines, error: failure,
                                                    progress: .init(done: q.done, total: q.items), columns: columns, rows: rows, now: Date(),
                                                    color: renderer.mode != .ascii))
                        dirty = false
                    }
                    guard let key = terminal.readKey(timeout: 1) else { dirty = true; continue }  // tick the clock
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
