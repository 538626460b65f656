import CurateCore
import Foundation

/// Files the user names on the command line: reading them, telling their label format, writing outputs.

/// A text file the user named, read as `InputFile` does (regular files, capped); the error has the failure's kind.
func readText(_ path: String, limit: Int = InputFile.defaultLimit) throws -> String {
    try InputFile.text(path, limit: limit)
}

/// The format of a label file: as given with --format, else detected from the file (`LabelFormat.detect`).
func labelFormat(_ given: LabelFormat?, of path: String) throws -> LabelFormat {
    if let given { return given }
    if let detected = LabelFormat.detect(path) { return detected }
    guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure(message: "\(path): no such file or folder", kind: .notFound) }
    throw CommandFailure(message: "\(path): cannot tell its label format; pass --format coco|yolo|voc|csv|jsonl", kind: .usage)
}

/// Writes a file the user named, atomically.
func writeOutput(_ data: Data, to path: String) throws {
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw CommandFailure(message: "\(path): cannot write: \(error.localizedDescription)", kind: .internal)
    }
}

/// Writes a command's output file atomically; a failure is one line naming the file.
func writeOutput(_ text: String, to path: String) throws {
    do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        let folder = (path as NSString).deletingLastPathComponent
        let reason = !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) ? "folder \(folder) does not exist" : "cannot write"
        throw CommandFailure(message: "\(path): \(reason)", kind: .internal)
    }
}
