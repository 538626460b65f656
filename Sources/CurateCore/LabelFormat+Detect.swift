import Foundation

extension LabelFormat {
    /// The format a label file or folder is in, from its name and first bytes: a folder of `.xml` files is Pascal
    /// VOC, of `.txt` files YOLO; a `.csv` file CSV; a `.jsonl` file JSON Lines; a `.json` file COCO when it is one
    /// object with `images`, `annotations` or `categories`, else JSON Lines when its first line is an object with
    /// `path`. Nil when none fits.
    ///
    /// ```swift
    /// LabelFormat.detect("datasets/photos/labels.coco.json")   // .coco
    /// ```
    public static func detect(_ path: String) -> LabelFormat? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).prefix(10_000)
            if files.contains(where: { $0.hasSuffix(".xml") }) { return .voc }
            if files.contains(where: { $0.hasSuffix(".txt") && !$0.hasSuffix("classes.txt") }) { return .yolo }
            return nil
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": return .csv
        case "jsonl", "ndjson": return .jsonl
        case "xml":
            // CVAT's root is <annotations>; VOC's <annotation>.
            guard let handle = FileHandle(forReadingAtPath: path) else { return .voc }
            defer { try? handle.close() }
            let head = String(decoding: (try? handle.read(upToCount: 4096)) ?? Data(), as: UTF8.self)
            return head.contains("<annotations") ? .cvat : .voc
        case "txt": return .yolo
        case "json": break
        default: return nil
        }
        // A .json: peek at the first 64 KiB.
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = String(decoding: (try? handle.read(upToCount: 1 << 16)) ?? Data(), as: UTF8.self)
        let firstLine = head.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        if let object = try? JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any], object["path"] != nil { return .jsonl }
        // Label Studio: an array of tasks, each with a "data" object.
        if head.range(of: #"^\s*\[\s*\{[\s\S]*"data"\s*:\s*\{"#, options: .regularExpression) != nil { return .labelstudio }
        if head.range(of: #"^\s*\{[\s\S]*"(images|annotations|categories)"\s*:"#, options: .regularExpression) != nil { return .coco }
        return nil
    }
}
