import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Track files and folders, and import labels.",
            discussion: """
                Files are hashed on every core; a file whose size, mtime and inode are unchanged since Curate \
                last saw it is not read again. Each content is stored once. Folders stay tracked: new files \
                in them show up in `curate status` and go into the next commit.

                --labels imports a label file (--format coco|yolo|voc|csv|jsonl, detected when omitted); its item paths are relative \
                to --images (default: the label file's folder). Every labeled item must be a tracked file. \
                Classes are merged into the repository's schema by name.

                --link decides how the store and the working folder share bytes: copy (default), hardlink \
                (no extra space; the files become read-only, so edit by replacing them), or reflink \
                (copy-on-write clone where the file system supports it, else a copy).

                Symlinks to files inside the repository are tracked as those files' content; symlinks \
                leaving the repository, names with control characters and names that are not UTF-8 are refused, \
                and nothing is recorded.

                Examples:
                  curate add images --labels labels.coco.json --format coco
                  curate add . --link hardlink
                """)

        @Argument(help: "Files or folders inside the repository.")
        var paths: [String] = []

        @Option(help: "A label file or folder to import.")
        var labels: String?

        @Option(help: "The label format: coco, yolo, voc, csv or jsonl.")
        var format: LabelFormat?

        @Option(help: "The folder the label file's item paths are relative to.")
        var images: String?

        @Flag(help: "Skip invalid label records and list them.")
        var lenient = false

        @Option(help: "copy, hardlink or reflink.")
        var link: LinkMode = .copy

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            if paths.isEmpty, labels == nil { throw ValidationError("give paths to add, or --labels") }
        }

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let labelImport = try labels.map { path -> LabelImport in
                    LabelImport(path: path, format: try labelFormat(format, of: path), imagesRoot: images, lenient: lenient)
                }
                let report = try repo.add(paths, labels: labelImport, link: link, wait: writer.wait)
                if json { return try printJSON(report) }
                for issue in report.skipped { Console.warning("skipped \(issue)") }
                var line = "tracking \(report.files) files (\(report.hashed) hashed, \(report.storedObjects) new objects)"
                if labelImport != nil { line += "; labels for \(report.labeledItems) items" }
                if report.reflinkFallbacks > 0 { line += "; \(report.reflinkFallbacks) copied (no reflink support)" }
                Console.out(line)
            }
        }
    }
}
