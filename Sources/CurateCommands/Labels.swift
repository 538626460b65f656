import ArgumentParser
import CurateCore
import CurateImaging
import Foundation

extension Curate {
    /// `curate labels …`: label files.
    struct Labels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert and check label files (COCO, YOLO, Pascal VOC, CSV, JSONL).",
            subcommands: [Convert.self, Export.self])
    }
}

extension LabelFormat: ExpressibleByArgument {}


extension Curate.Labels {
    /// `curate labels convert IN --from FMT --to FMT --out OUT`.
    struct Convert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert labels between COCO, YOLO, Pascal VOC, CSV and JSONL.",
            discussion: """
                Every record is validated on the way in: unknown classes, boxes outside the image or with \
                negative size, NaN, missing images (with --images), duplicate ids and paths that escape the \
                dataset root. The first invalid record stops the conversion (exit 65) with its file and line \
                or JSON path, and nothing is written. With --lenient, invalid records are skipped and listed.

                YOLO needs --images to find each image and read its size; COCO and VOC sizes are checked \
                against the images when --images is given (EXIF orientation applied).

                Examples:
                  curate labels convert datasets/photos/labels.coco.json --from coco --to yolo \\
                      --images datasets/photos --out /tmp/photos-yolo
                  curate labels convert /tmp/photos-yolo --from yolo --to voc \\
                      --images datasets/photos --out /tmp/photos-voc
                  curate labels convert datasets/digits/labels.csv --from csv --to jsonl \\
                      --out /tmp/digits.jsonl
                """)

        @Argument(help: "Input label file (COCO, CSV, JSONL) or folder (YOLO, VOC).")
        var input: String

        @Option(help: "Input format: \(LabelFormat.allCases.map(\.rawValue).joined(separator: ", ")) (default: detected from the input).")
        var from: LabelFormat?

        @Option(help: "Output format.")
        var to: LabelFormat

        @Option(help: "Output file or folder. A folder (YOLO, VOC) must not exist yet or be empty.")
        var out: String

        @Option(help: "The dataset root that item paths are relative to (checks images exist; reads sizes).")
        var images: String?

        @Option(help: "A CSV/JSONL/COCO/YOLO/VOC class list to validate against: a text file with one class name per line.")
        var classes: String?

        @Flag(help: "Skip invalid records and list them instead of failing.")
        var lenient = false

        @Flag(help: "Print the summary as JSON.")
        var json = false

        func run() async throws {
            try await reportingErrors {
                let report = try LabelConversion.convert(input, from: try labelFormat(from, of: input), to: to, out: out, images: images, classes: classes,
                                                         lenient: lenient)
                if json { return try printJSON(report) }
                for issue in report.skipped { Console.warning("skipped \(issue)") }
                Console.out("converted \(report.items) items, \(report.annotations) annotations, \(report.classes) classes: \(input) (\(report.from)) -> \(out) (\(report.to))"
                    + (report.skipped.isEmpty ? "" : "; skipped \(report.skipped.count) invalid records"))
            }
        }
    }
}

extension Curate.Labels {
    /// `curate labels export --rev REV --format FMT --out OUT`.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the labels committed in a revision, in any format.",
            discussion: """
                Reproduces exactly the labels committed in REV (classes, boxes, keypoints, masks, sources and \
                times where the format holds them). Item paths are written relative to --relative-to (a folder \
                inside the repository; default: the repository root); files outside it are left out.

                Examples:
                  curate labels export --rev v1 --format coco --out /tmp/v1.json \\
                      --relative-to datasets/photos
                  curate labels export --format yolo --out /tmp/yolo
                """)

        @Option(help: "The revision (default HEAD).")
        var rev: String = "HEAD"

        @Option(help: "coco, yolo, voc, csv or jsonl.")
        var format: LabelFormat

        @Option(help: "Output file or folder.")
        var out: String

        @Option(help: "Write item paths relative to this folder inside the repository.")
        var relativeTo: String?

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let folder = try relativeTo.map { try repo.relativePath($0) } ?? ""
                let labels = try repo.labels(at: rev, relativeTo: folder)
                try format.writeAtomically(labels, to: out)
                Console.out("exported \(labels.items.count) items, \(labels.annotations.count) annotations, \(labels.schema.classes.count) classes from \(rev) to \(out) (\(format.rawValue))")
            }
        }
    }
}
