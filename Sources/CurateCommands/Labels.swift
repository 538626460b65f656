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

/// The image-size reader label readers use: header only, upright (EXIF orientation applied).
let imageSizeReader: @Sendable (String) -> (width: Int, height: Int)? = { path in
    guard let info = try? ImageDecoder().info(fileAt: path) else { return nil }
    return info.displaySize
}

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
                var options = LabelReadOptions(imagesRoot: images, lenient: lenient, imageSize: imageSizeReader)
                if let images {
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: images, isDirectory: &isDirectory), isDirectory.boolValue else {
                        throw CommandFailure(message: "\(images): no such folder (--images)", kind: .notFound)
                    }
                }
                if let classes {
                    let data = FileManager.default.contents(atPath: classes)
                    guard let data else {
                        throw CommandFailure(message: "\(classes): no such file (--classes)", kind: .notFound)
                    }
                    let names = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                        .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    options.schema = LabelSchema(classNames: names)
                }
                let from = try labelFormat(self.from, of: input)
                let result = try from.read(from: input, options: options)
                try to.writeAtomically(result.labelSet, to: out)
                let labels = result.labelSet
                if json {
                    struct Summary: Encodable {
                        var input: String, from: String, to: String, out: String
                        var items: Int, annotations: Int, classes: Int
                        var skipped: [LabelIssue]
                    }
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    let summary = Summary(input: input, from: from.rawValue, to: to.rawValue, out: out, items: labels.items.count,
                                          annotations: labels.annotations.count, classes: labels.schema.classes.count,
                                          skipped: result.skipped)
                    Console.out(String(decoding: try encoder.encode(summary), as: UTF8.self))
                } else {
                    for issue in result.skipped { Console.warning("skipped \(issue)") }
                    Console.out("converted \(labels.items.count) items, \(labels.annotations.count) annotations, "
                        + "\(labels.schema.classes.count) classes: \(input) (\(from.rawValue)) -> \(out) (\(to.rawValue))"
                        + (result.skipped.isEmpty ? "" : "; skipped \(result.skipped.count) invalid records"))
                }
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
