import ArgumentParser
import CurateCore
import CurateLabeling
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
                the class legend (wrapped over as many lines as the schema needs), the model's suggestion, and a \
                status line (your answers, the queue's complete items, your items per hour and ETA, time on this \
                item). One key per decision: classes get the digits, then the letters the task's commands leave \
                free; / picks any class by typing part of its name; ? lists the keys that work. u undoes, p lists \
                this session's answers to change any of them, s skips, f flags, + and - (or the mouse wheel) zoom, \
                z toggles view mode (arrows pan), i shows the instructions, q quits. Box queues draw the boxes over \
                the image (class colours; the selected one heavier): Tab selects, e picks the whole box or an edge, \
                arrows or hjkl move it 1% (Shift or HJKL 10%), a class key or c changes its class, x deletes, n adds, \
                u undoes, Enter stores the boxes; with the mouse, drag to draw a box, click to select one, drag the \
                selected box's inside or border to move it or an edge. The next items are decoded and drawn in the \
                background while you look at this one. Every answer is stored in its own \
                transaction before the next item appears: a session killed at any moment loses at most the item on \
                screen, and reopening it resumes there (the lease is still this annotator's). The terminal is \
                restored on q, Ctrl-C, SIGTERM, SIGHUP (a closed ssh) and crashes. Works from 40x12 up; a smaller \
                window gets a message instead of the image. With nothing left, the session waits and shows \
                items as they are added. On a shared PostgreSQL store (curate store) you answer as your database \
                role (leave out --annotator), and a lost connection is retried, saying "reconnecting…".

                Examples:
                  curate label --queue round1 --annotator ana
                  PGUSER=ana curate label --queue round1
                """)

        @Option(help: "The queue.")
        var queue: String

        @Option(help: "Who is labeling (recorded with every answer). On a PostgreSQL store: your database role, unless a lead names someone.")
        var annotator: String?

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, store) = try repository.openWithStore()
                let annotator = try store.annotator(requested: annotator)
                let answered = try LabelingSession.run(queue: queue, annotator: annotator, repository: repo, store: store)
                Console.out("\(Plural.count(answered, "answer")) stored in queue \(queue) by \(annotator)")
            }
        }
    }
}
