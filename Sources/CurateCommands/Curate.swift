import ArgumentParser

/// The `curate` command: a data-prep and labeling toolkit.
public struct Curate: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "curate",
        abstract: "Version, augment, validate, select and label training data.",
        discussion: """
            Curate works on a dataset folder of images (PNG, JPEG) and label files (COCO, YOLO, \
            Pascal VOC, CSV, JSONL).

            Examples:
              curate inspect datasets/photos/images/*.jpg
              curate labels convert datasets/photos/labels.coco.json --from coco --to yolo \\
                  --images datasets/photos --out /tmp/photos-yolo

            Exit codes: 0 success, 1 unexpected failure, 64 usage error, 65 the data failed checks \
            (invalid labels, corrupt image), 66 a file or folder was not found, 75 the repository lock is held.
            """,
        version: version,
        subcommands: [
            Init.self, Add.self, StatusCommand.self, Commit.self, Log.self, Show.self, Tag.self, DiffCommand.self,
            Checkout.self, Fsck.self, GC.self, Augment.self, Validate.self, Annotators.self, Issues.self, Select.self, Simulate.self, Triage.self, Queue.self, LabelCommand.self, Route.self, RunWorkflow.self, Runs.self,
            Inspect.self, Labels.self, Bench.self,
        ])

    public init() {}

    /// Runs the command line, then exits 1 if the command succeeded but its output could not be written.
    public static func run() async {
        await main()
        Console.finish()
    }
}
