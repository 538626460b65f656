// Shared by the label-format fuzz targets (compiled into each by scripts/fuzz).
import CurateCore
import Foundation

/// Each input goes through a file, as users hand Curate label files.
let scratch: String = {
    let dir = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/curate-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

/// Reads `bytes` as a label file of `format`, strictly and leniently; errors are the expected outcome.
func fuzzLabels(_ format: LabelFormat, extension ext: String, _ bytes: [UInt8]) {
    let path = scratch + "/input." + ext
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    _ = try? format.read(from: path, options: LabelReadOptions())
    _ = try? format.read(from: path, options: LabelReadOptions(lenient: true))
}
