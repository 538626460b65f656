import Foundation

extension LabelFormat {
    /// Writes labels without leaving half an output behind: folder formats go to a staging folder beside `path`
    /// and are renamed into place, so a failure (an unrepresentable label, a full disk) leaves nothing; file
    /// formats are written atomically.
    public func writeAtomically(_ labels: LabelSet, to path: String) throws {
        let format = self
        guard format.isFolder else {
            try format.write(labels, to: path)
            return
        }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? ["?"]
            guard isDirectory.boolValue, contents.isEmpty else {
                throw InputError("\(path): already exists and is not an empty folder; choose a new --out", kind: .usage)
            }
            try? fm.removeItem(atPath: path)
        }
        let url = URL(fileURLWithPath: path)
        let staging = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).curate-tmp-\(UUID().uuidString)")
        do {
            try format.write(labels, to: staging.path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.moveItem(at: staging, to: url)
        } catch var error as LabelError {
            try? fm.removeItem(at: staging)
            // Report against the folder the user named, not the staging folder.
            error.issue.file = error.issue.file.replacingOccurrences(of: staging.path, with: path)
            throw error
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }
}
