import ArgumentParser
import CurateImaging
import Foundation

extension Curate {
    /// `curate inspect FILE...`: what each image is, and whether it decodes.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show format, size, colour type, bit depth and EXIF orientation of images, and decode them.",
            discussion: """
                Every file is fully decoded, so a corrupt or truncated image is reported (exit 65) \
                with the file and the problem; the other files are still inspected.

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

        func validate() throws {
            guard [1, 2, 4, 8].contains(scale) else { throw ValidationError("--scale must be 1, 2, 4 or 8") }
            guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        }

        struct Report: Encodable {
            var path: String
            var ok: Bool
            var format: String?
            var width: Int?
            var height: Int?
            var displayWidth: Int?
            var displayHeight: Int?
            var colorType: String?
            var bitDepth: Int?
            var interlaced: Bool?
            var subsampling: String?
            var orientation: Int?
            var decodedWidth: Int?
            var decodedHeight: Int?
            var channels: Int?
            var decodeMilliseconds: Double?
            var error: String?
        }

        func run() async throws {
            try await reportingErrors {
                let decoder = ImageDecoder(maxPixels: maxPixels, scaleDenominator: scale)
                var reports: [Report] = []
                var firstFailure: (any Error)?
                for path in Self.expand(files) {
                    var report = Report(path: path, ok: false)
                    do {
                        let info = try decoder.info(fileAt: path)
                        report.format = info.format.rawValue
                        report.width = info.width
                        report.height = info.height
                        report.displayWidth = info.displaySize.width
                        report.displayHeight = info.displaySize.height
                        report.colorType = info.colorType
                        report.bitDepth = info.bitDepth
                        report.interlaced = info.interlaced
                        report.subsampling = info.subsampling
                        report.orientation = info.orientation.rawValue
                        let start = ContinuousClock.now
                        let image = try decoder.decode(fileAt: path)
                        let elapsed = ContinuousClock.now - start
                        report.decodeMilliseconds = (elapsed.seconds * 1000).rounded(toPlaces: 3)
                        report.decodedWidth = image.pixels.width
                        report.decodedHeight = image.pixels.height
                        report.channels = image.pixels.format.channels
                        report.ok = true
                    } catch {
                        report.error = "\(error)"
                        if firstFailure == nil { firstFailure = error }
                        if !json { Console.error("\(error)") }
                    }
                    reports.append(report)
                    if !json, report.ok { Console.out(Self.describe(report)) }
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    Console.out(String(decoding: try encoder.encode(reports), as: UTF8.self))
                }
                if let firstFailure { throw ExitCode(ExitCodes.code(for: firstFailure)) }
            }
        }

        /// Folders are replaced by the .png/.jpg/.jpeg files below them, sorted; files stay as given.
        static func expand(_ paths: [String]) -> [String] {
            paths.flatMap { path -> [String] in
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
                let found = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                    .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }
                    .sorted()
                let base = path.hasSuffix("/") ? String(path.dropLast()) : path
                return found.map { base + "/" + $0 }
            }
        }

        static func describe(_ r: Report) -> String {
            var text = "\(r.path): \(r.format!.uppercased()) \(r.width!)x\(r.height!) \(r.colorType!) \(r.bitDepth!)-bit"
            if let s = r.subsampling, r.format == "jpeg" { text += " \(s)" }
            if r.interlaced == true { text += r.format == "png" ? " interlaced" : " progressive" }
            if let o = r.orientation, o != 1 {
                text += ", EXIF orientation \(o) (shown as \(r.displayWidth!)x\(r.displayHeight!))"
            }
            text += ", decoded \(r.decodedWidth!)x\(r.decodedHeight!)x\(r.channels!) in \(String(format: "%.2f", r.decodeMilliseconds!)) ms"
            return text
        }
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let factor = pow(10, Double(places))
        return (self * factor).rounded() / factor
    }
}
