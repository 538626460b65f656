import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import Foundation

extension Curate {
    struct DiffCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Show files, labels and class balance changed between versions.",
            discussion: """
                With no revision: the last commit against the working tree and labels. With one: that \
                revision against the working state. With two: A against B.

                Files: added (A), removed (D), modified (M) and renamed (R: same content, new path). Labels, \
                item by item: class a -> b; boxes added, removed, moved (matched by IoU, shown), or given a new \
                class; with who made them and when. Summary: labels per class before and after, with Pearson's \
                chi-square over the 2xK table and the total-variation distance, and the image sizes.

                --html FILE writes a self-contained page: before/after thumbnails of every changed item with \
                boxes in their class colours, the changed labels highlighted, and the class-balance chart.

                Examples:
                  curate diff
                  curate diff v1 HEAD --stat
                  curate diff HEAD~1 HEAD --html review.html
                """)

        @Argument(help: "The older revision (default HEAD).")
        var from: String = "HEAD"

        @Argument(help: "The newer revision (default: the working tree and labels).")
        var to: String?

        @Flag(help: "Counts only: no per-file or per-item lines.")
        var stat = false

        @Flag(help: "Print JSON.")
        var json = false

        @Option(help: "Also write a self-contained HTML review page to this file.")
        var html: String?

        @Option(help: "Exit 65 when a condition holds, e.g. \"tvd>0.1,removed>5%\": tvd (class-balance shift, total variation; 0 when there were no labels before), p (its chi-square p-value), removed / added (files), unlabeled (labeled items lost).")
        var failOn: String?

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                let repo = try repository.open()
                let diff = try repo.diff(from: from, to: to, labelDetails: !stat || html != nil || gates != nil)
                do { try checkGates(gates, diff.metrics) } catch let failure as GateFailure {
                    if !json { for line in DiffText.lines(diff, stat: true) { Console.out(line) } }
                    throw failure
                }
                if let html {
                    let page = try DiffPage.render(diff, repository: repo)
                    do { try Data(page.utf8).write(to: URL(fileURLWithPath: html), options: .atomic) } catch {
                        throw CommandFailure(message: "\(html): cannot write: \(error.localizedDescription)", kind: .internal)
                    }
                }
                if json { return try printJSON(diff) }
                Console.out("diff \(String(diff.from.prefix(10))) -> \(diff.to == "working" ? "working tree" : String(diff.to.prefix(10)))")
                for line in DiffText.lines(diff, stat: stat) { Console.out(line) }
                if let html { Console.out("wrote \(html)") }
            }
        }
    }
}
