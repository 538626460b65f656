import ArgumentParser
import CurateImaging
import Foundation

extension Curate {
    /// `curate bench decode FILES`: in-process decode throughput, for `benchmarks/imaging`.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure in-process throughput (used by the scripts in benchmarks/).",
            shouldDisplay: false,
            subcommands: [Decode.self])
    }
}

extension Curate.Bench {
    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode files from memory repeatedly on one thread and print images per second as JSON.",
            discussion: """
                Files are read into memory first, so only decoding is timed (as the Pillow and OpenCV \
                loops in benchmarks/imaging/peers.py do).

                Example:
                  curate bench decode --repeat 20 --scale 4 .build/bench-imaging/jpeg/*.jpg
                """)

        @Argument(help: "PNG or JPEG files.")
        var files: [String]

        @Option(name: .customLong("repeat"), help: "Decode every file this many times.")
        var repetitions: Int = 10

        @Option(help: "JPEG DCT scale denominator (1, 2, 4, 8).")
        var scale: Int = 1

        @Option(help: "Output layout: rgb or rgba.")
        var format: String = "rgb"

        func validate() throws {
            guard repetitions > 0 else { throw ValidationError("--repeat must be positive") }
            guard [1, 2, 4, 8].contains(scale) else { throw ValidationError("--scale must be 1, 2, 4 or 8") }
            guard ["rgb", "rgba"].contains(format) else { throw ValidationError("--format must be rgb or rgba") }
        }

        func run() async throws {
            try await reportingErrors {
                let decoder = ImageDecoder(scaleDenominator: scale)
                let layout: PixelFormat = format == "rgba" ? .rgba8 : .rgb8
                var inputs: [(String, [UInt8])] = []
                for path in files {
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw CommandFailure(message: "\(path): no such file", exitCode: ExitCodes.notFound)
                    }
                    inputs.append((path, Array(data)))
                }
                // One untimed pass: warms caches and checks every file decodes.
                var pixels = 0
                for (path, bytes) in inputs { pixels += try decoder.decode(bytes, format: layout, source: path).pixels.bytes.count }
                let start = ContinuousClock.now
                var checksum = 0
                for _ in 0..<repetitions {
                    for (path, bytes) in inputs {
                        checksum &+= Int(try decoder.decode(bytes, format: layout, source: path).pixels.bytes.last ?? 0)
                    }
                }
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let images = inputs.count * repetitions
                Console.out(#"{"images": \#(images), "seconds": \#(seconds), "images_per_second": \#(Double(images) / seconds), "bytes_per_pass": \#(pixels), "checksum": \#(checksum)}"#)
            }
        }
    }
}
