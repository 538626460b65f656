import ArgumentParser
import CurateCore
import CurateImaging
import CurateVersioning
import Foundation

extension Curate {
    /// `curate inspect FILE...`: what each image is, and whether it decodes.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show format, size, colour type, bit depth and EXIF orientation of images, and decode them.",
            discussion: """
                Every file is fully decoded, so a corrupt or truncated image is reported (exit 65) \
                with the file and the problem; the other files are still inspected. In a partial clone, files \
                that were never checked out are fetched from its remote and checked out first.

                Sharded (--parts DIR with --shard I/N or a scheduler's index): each shard inspects the files its \
                path hash owns; curate merge DIR prints every report in the unsharded order.

                Examples:
                  curate inspect datasets/photos/images/chelsea-exif6.jpg
                  curate inspect datasets/photos/images
                  curate inspect --json --scale 4 datasets/photos/images/*.jpg
                """)

        @Argument(help: "PNG or JPEG files, or folders to search for them.")
        var files: [String]

        @Flag(help: "Print a JSON array instead of text.")
        var json = false

        @Option(help: "Refuse images with more pixels than this (checked from the header).")
        var maxPixels: Int = ImageDecoder.defaultMaxPixels

        @Option(help: "Decode JPEGs at 1/N size through the DCT (1, 2, 4 or 8).")
        var scale: Int = 1

        @OptionGroup var sharding: ShardOptions

        func validate() throws {
            guard [1, 2, 4, 8].contains(scale) else { throw ValidationError("--scale must be 1, 2, 4 or 8") }
            guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        }

        func run() async throws {
            try await reportingErrors {
                // In a partial clone, files that were never checked out are fetched from its remote first.
                if let repo = try? Repository.open(at: "."), (try? repo.sparsePaths()) != nil {
                    let absent = files.filter { !FileManager.default.fileExists(atPath: $0) }.compactMap { try? repo.relativePath($0, mustExist: false) }
                    if !absent.isEmpty { _ = try repo.checkout("HEAD", paths: absent) }
                }
                let paths = ImageInspection.expand(files)
                let decoder = ImageDecoder(maxPixels: maxPixels, scaleDenominator: scale)
                if let shard = try sharding.resolve() {
                    var inputs = ShardDigest()
                    for path in paths { inputs.add(name: path, sizeOf: path) }
                    return try sharding.write(try ImageInspection.part(paths, decoder: decoder, shard: shard), verb: "inspect", shard: shard, inputs: inputs,
                                              parameters: [("max_pixels", "\(maxPixels)"), ("scale", "\(scale)")])
                }
                try Self.print(ImageInspection.inspect(paths, decoder: decoder), json: json)
            }
        }

        /// Prints the reports (errors on standard error) and fails with the first failure's exit code.
        static func print(_ reports: [ImageInspection], json: Bool) throws {
            for report in reports {
                if json { continue }
                if let error = report.error { Console.error(error) } else { Console.out(report.description) }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                Console.out(String(decoding: try encoder.encode(reports), as: UTF8.self))
            }
            if let kind = reports.compactMap(\.failure).first { throw ExitCode(ExitCodes.code(for: kind)) }
        }
    }
}
