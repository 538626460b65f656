import Foundation
import Yams

/// YOLO: a folder with `classes.txt` (one name per line) or `data.yaml` (`names:` as a list or an
/// index→name map), and one `.txt` per image under `labels/` (or beside them), each line
/// `class cx cy w h` normalised to [0, 1], or `class x1 y1 x2 y2 …` for a polygon.
/// Images are found under the images root by the label file's relative path with an image extension;
/// their sizes convert between normalised and pixel coordinates.
enum YOLOFormat {
    static let imageExtensions = ["jpg", "jpeg", "png", "JPG", "JPEG", "PNG"]

    static func classNames(in folder: String) throws(LabelError) -> [String] {
        let classesPath = folder + "/classes.txt"
        if FileManager.default.fileExists(atPath: classesPath) {
            let text = try readText(classesPath)
            return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        for name in ["data.yaml", "data.yml"] where FileManager.default.fileExists(atPath: folder + "/" + name) {
            let path = folder + "/" + name
            let text = try readText(path)
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw LabelError(.malformed, file: path, message: "not valid YAML: \(error)")
            }
            guard let names = node?.mapping?["names"] else {
                throw LabelError(.malformed, file: path, message: "missing 'names'")
            }
            if let list = names.sequence { return list.compactMap(\.string) }
            if let map = names.mapping {
                var result: [(Int, String)] = []
                for (key, value) in map {
                    guard let index = key.int, let name = value.string else {
                        throw LabelError(.malformed, file: path, location: .line((key.mark?.line ?? 0) + 1),
                                         message: "'names' entries must map an index to a name")
                    }
                    result.append((index, name))
                }
                result.sort { $0.0 < $1.0 }
                guard result.map(\.0) == Array(0..<result.count) else {
                    throw LabelError(.malformed, file: path, message: "'names' indices must be 0…\(result.count - 1) without gaps")
                }
                return result.map(\.1)
            }
            throw LabelError(.malformed, file: path, message: "'names' must be a list or a map")
        }
        throw LabelError(.notFound, file: folder, message: "no classes.txt or data.yaml in the YOLO folder")
    }

    /// Label `.txt` files (relative paths) under `labels/` if present, else directly in the folder tree.
    static func labelFiles(in folder: String) -> (base: String, files: [String]) {
        let (base, files) = filesWithExtension("txt", in: folder, preferring: "labels")
        return (base, files.filter { $0 != "classes.txt" })
    }

    static func read(from folder: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        let names = try classNames(in: folder)
        guard let root = options.imagesRoot else {
            throw LabelError(.unrepresentable, file: folder, message: "YOLO labels need --images DIR to find each image and its size")
        }
        guard let sizeOf = options.imageSize else {
            throw LabelError(.unrepresentable, file: folder, message: "YOLO labels need an image size reader")
        }
        var check = RecordChecker(file: folder, options: options)
        // YOLO index → schema id.
        var schema = LabelSchema(classNames: names)
        var indexToID = Array(0..<names.count)
        if let given = options.schema {
            schema = given
            var mapped: [Int] = []
            for (index, name) in names.enumerated() {
                guard let id = given.id(named: name) else {
                    throw LabelError(.invalidRecord, file: folder + "/classes.txt", location: .line(index + 1),
                                     message: "unknown class '\(name)' (known: \(given.knownNames))")
                }
                mapped.append(id)
            }
            indexToID = mapped
        }
        let (base, files) = labelFiles(in: folder)
        var items: [Item] = []
        var annotations: [Annotation] = []
        var labeled = Set<String>()
        for relative in files {
            let stem = String(relative.dropLast(4))
            let labelPath = base + "/" + relative
            check.file = labelPath
            guard let ext = imageExtensions.first(where: { FileManager.default.fileExists(atPath: "\(root)/\(stem).\($0)") }) else {
                try check.reject(.file, "no image for '\(relative)' under \(root) (looked for \(stem).jpg/.png)")
                continue
            }
            guard let itemPath = try check.itemPath("\(stem).\(ext)", at: .file) else { continue }
            guard let size = sizeOf(root + "/" + itemPath) else {
                try check.reject(.file, "cannot read the size of image '\(itemPath)'")
                continue
            }
            items.append(Item(path: itemPath, width: size.width, height: size.height))
            labeled.insert(itemPath)
            let text = try readText(labelPath)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                if fields.isEmpty { continue }
                let location = RecordLocation.line(n + 1)
                guard let index = Int(fields[0]) else {
                    try check.reject(location, "class index '\(fields[0])' is not an integer")
                    continue
                }
                guard index >= 0, index < names.count else {
                    try check.reject(location, "class index \(index) is out of range (\(names.count) classes)")
                    continue
                }
                let numbers = fields.dropFirst().map { Double($0) }
                if numbers.contains(where: { $0 == nil }) {
                    try check.reject(location, "coordinates must be numbers")
                    continue
                }
                let v = numbers.map { $0! }
                if v.contains(where: { !$0.isFinite }) {
                    try check.reject(location, "coordinate is NaN or infinite")
                    continue
                }
                let w = Double(size.width), h = Double(size.height)
                var object = ObjectLabel(classID: indexToID[index])
                if v.count == 4 {
                    if v[2] < 0 || v[3] < 0 {
                        try check.reject(location, "box has negative size")
                        continue
                    }
                    let t = RecordChecker.tolerance / max(w, h)
                    if v[0] - v[2] / 2 < -t || v[1] - v[3] / 2 < -t || v[0] + v[2] / 2 > 1 + t || v[1] + v[3] / 2 > 1 + t {
                        try check.reject(location, "box extends outside [0, 1]: \(v.map(fmt).joined(separator: " "))")
                        continue
                    }
                    object.box = BoundingBox(x: (v[0] - v[2] / 2) * w, y: (v[1] - v[3] / 2) * h, width: v[2] * w, height: v[3] * h)
                } else if v.count >= 6, v.count % 2 == 0 {
                    let polygon = v.enumerated().map { $0.offset % 2 == 0 ? $0.element * w : $0.element * h }
                    object.polygons = [polygon]
                    object.box = polygonBounds(polygon)
                } else {
                    try check.reject(location, "expected 'class cx cy w h' or a polygon, found \(v.count) numbers")
                    continue
                }
                guard try check.checkObject(object, width: size.width, height: size.height, at: location) else { continue }
                annotations.append(Annotation(item: itemPath, label: .object(object)))
            }
        }
        // Images with no label file are YOLO negatives: items without objects. Only the folders that hold
        // labeled images are searched, so unrelated images elsewhere under the root are not swept in.
        let folders = Set(labeled.map { ($0 as NSString).deletingLastPathComponent })
        for folder in folders.sorted() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? root : root + "/" + folder)) ?? []
            for name in names.sorted() where imageExtensions.contains((name as NSString).pathExtension) {
                let path = folder.isEmpty ? name : folder + "/" + name
                if labeled.contains(path) { continue }
                if let size = sizeOf(root + "/" + path) { items.append(Item(path: path, width: size.width, height: size.height)) }
            }
        }
        schema.tasks = COCOFormat.tasks(of: annotations)
        return LabelReadResult(labelSet: LabelSet(schema: schema, items: items, annotations: annotations), skipped: check.skipped)
    }

    static func write(_ set: LabelSet, to folder: String) throws(LabelError) {
        let classes = set.schema.classes
        var indexOf: [Int: Int] = [:]
        for (index, c) in classes.enumerated() { indexOf[c.id] = index }
        let grouped = set.annotationsByItem()
        var files: [(String, String)] = []
        for item in set.items {
            guard let width = item.width, let height = item.height, width > 0, height > 0 else {
                throw LabelError(.unrepresentable, file: folder, message: "'\(item.path)' has no image size; pass --images DIR so YOLO can normalise its boxes")
            }
            var lines: [String] = []
            for annotation in grouped[item.path] ?? [] {
                guard case .object(let object) = annotation.label, let index = indexOf[object.classID] else {
                    throw LabelError(.unrepresentable, file: folder, message: "YOLO holds objects only; '\(item.path)' has a \(kind(annotation.label)) label")
                }
                let w = Double(width), h = Double(height)
                if let box = object.box {
                    // Clip to the image first so the normalised values always land in [0, 1].
                    let x0 = min(max(box.x, 0), w), y0 = min(max(box.y, 0), h)
                    let x1 = min(max(box.maxX, 0), w), y1 = min(max(box.maxY, 0), h)
                    lines.append("\(index) \(yolo((x0 + x1) / 2 / w)) \(yolo((y0 + y1) / 2 / h)) \(yolo((x1 - x0) / w)) \(yolo((y1 - y0) / h))")
                } else if let polygon = object.polygons.first {
                    lines.append("\(index) " + polygon.enumerated().map { yolo($0.offset % 2 == 0 ? $0.element / w : $0.element / h) }.joined(separator: " "))
                } else {
                    throw LabelError(.unrepresentable, file: folder, message: "YOLO needs a box or polygon; an object on '\(item.path)' has neither")
                }
            }
            let stem = (item.path as NSString).deletingPathExtension
            files.append(("labels/\(stem).txt", lines.map { $0 + "\n" }.joined()))
        }
        try writeFile(Data(classes.map { $0.name + "\n" }.joined().utf8), to: folder + "/classes.txt")
        var yaml = "# Written by curate labels convert\nnc: \(classes.count)\nnames:\n"
        for c in classes { yaml += "  - \(yamlQuoted(c.name))\n" }
        try writeFile(Data(yaml.utf8), to: folder + "/data.yaml")
        for (relative, text) in files { try writeFile(Data(text.utf8), to: folder + "/" + relative) }
    }

    /// Six decimals, clamped to [0, 1].
    static func yolo(_ value: Double) -> String { String(format: "%.6f", min(max(value, 0), 1)) }

    static func yamlQuoted(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }
}

/// The tight box around a flat polygon.
func polygonBounds(_ polygon: [Double]) -> BoundingBox {
    let xs = stride(from: 0, to: polygon.count, by: 2).map { polygon[$0] }
    let ys = stride(from: 1, to: polygon.count, by: 2).map { polygon[$0] }
    let x0 = xs.min() ?? 0, y0 = ys.min() ?? 0
    return BoundingBox(x: x0, y: y0, width: (xs.max() ?? 0) - x0, height: (ys.max() ?? 0) - y0)
}

