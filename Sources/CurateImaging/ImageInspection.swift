import CurateCore
import Foundation

/// What `curate inspect` reports for one file: its header, and how decoding went.
package struct ImageInspection: Codable, Sendable {
    package var path: String
    package var ok: Bool
    package var format: String?
    package var width: Int?
    package var height: Int?
    package var displayWidth: Int?
    package var displayHeight: Int?
    package var colorType: String?
    package var bitDepth: Int?
    package var interlaced: Bool?
    package var subsampling: String?
    package var orientation: Int?
    package var decodedWidth: Int?
    package var decodedHeight: Int?
    package var channels: Int?
    package var decodeMilliseconds: Double?
    package var error: String?
    /// The kind of the failure, when the file did not decode.
    package var failure: FailureKind?

    enum CodingKeys: String, CodingKey {
        case path, ok, format, width, height, displayWidth, displayHeight, colorType, bitDepth, interlaced, subsampling, orientation,
             decodedWidth, decodedHeight, channels, decodeMilliseconds, error
    }

    /// Reads each file's header and decodes it fully, so a corrupt or truncated image is reported; the others are
    /// still inspected.
    package static func inspect(_ paths: [String], decoder: ImageDecoder) -> [ImageInspection] {
        paths.map { path in
            var report = ImageInspection(path: path, ok: false)
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
                let elapsed = (ContinuousClock.now - start).components
                let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
                report.decodeMilliseconds = (milliseconds * 1000).rounded() / 1000
                report.decodedWidth = image.pixels.width
                report.decodedHeight = image.pixels.height
                report.channels = image.pixels.format.channels
                report.ok = true
            } catch {
                report.error = "\(error)"
                report.failure = (error as? any CurateError)?.kind ?? .internal
            }
            return report
        }
    }

    /// Folders are replaced by the .png/.jpg/.jpeg files below them, sorted; files stay as given.
    package static func expand(_ paths: [String]) -> [String] {
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

    /// One line for a person: "PATH: JPEG 640x480 RGB 8-bit 4:2:0, decoded 640x480x3 in 1.20 ms".
    package var description: String {
        guard ok, let format, let width, let height, let colorType, let bitDepth else { return "\(path): \(error ?? "not inspected")" }
        var text = "\(path): \(format.uppercased()) \(width)x\(height) \(colorType) \(bitDepth)-bit"
        if let s = subsampling, format == "jpeg" { text += " \(s)" }
        if interlaced == true { text += format == "png" ? " interlaced" : " progressive" }
        if let o = orientation, o != 1 { text += ", EXIF orientation \(o) (shown as \(displayWidth ?? 0)x\(displayHeight ?? 0))" }
        text += ", decoded \(decodedWidth ?? 0)x\(decodedHeight ?? 0)x\(channels ?? 0) in \(String(format: "%.2f", decodeMilliseconds ?? 0)) ms"
        return text
    }
}

// MARK: - Shards

extension ImageInspection {
    struct Placed: Codable {
        var position: Int
        var report: ImageInspection
        var failure: FailureKind?
    }

    /// One shard's part of ``inspect(_:decoder:)``: the files of `paths` that `shard` owns, with their places.
    package static func part(_ paths: [String], decoder: ImageDecoder, shard: Shard) throws -> ShardOutput {
        let mine = paths.indices.filter { shard.owns(paths[$0]) }
        let reports = inspect(mine.map { paths[$0] }, decoder: decoder)
        let placed = zip(mine, reports).map { Placed(position: $0, report: $1, failure: $1.failure) }
        return ShardOutput(items: mine.count, files: ["inspections.json": try JSONEncoder().encode(placed)])
    }

    /// Every shard's reports in the order the unsharded run gives them.
    package static func merge(_ parts: [ShardPart]) throws -> [ImageInspection] {
        var placed: [Placed] = []
        for part in parts {
            do { placed += try JSONDecoder().decode([Placed].self, from: try part.data("inspections.json")) } catch let error as ShardError { throw error } catch {
                throw ShardError("\(part.folder)/inspections.json: not a part of curate inspect (\(error))")
            }
        }
        return placed.sorted { $0.position < $1.position }.map { p in
            var report = p.report
            report.failure = p.failure
            return report
        }
    }
}
