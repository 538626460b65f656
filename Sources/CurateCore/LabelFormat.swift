/// The label interchange formats Curate reads and writes. Every format maps onto ``LabelSet``.
///
/// | format | path | holds |
/// |---|---|---|
/// | `coco` | a `.json` file | boxes, polygons, RLE masks, keypoints |
/// | `yolo` | a folder (`classes.txt` or `data.yaml`, `labels/*.txt`) | boxes (normalised), polygons |
/// | `voc` | a folder of `.xml` files (or its `Annotations/`) | boxes (1-based corners) |
/// | `csv` | a `.csv` file with `path,label` | classes, multi-label |
/// | `jsonl` | a `.jsonl` file, one item per line | everything, with sources and times |
///
/// ```swift
/// let options = LabelReadOptions(imagesRoot: "datasets/photos", imageSize: sizeReader)
/// let labels = try LabelFormat.coco.read(from: "datasets/photos/labels.coco.json", options: options).labelSet
/// try LabelFormat.yolo.write(labels, to: "out/yolo")
/// ```
public enum LabelFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case coco, yolo, voc, csv, jsonl
    /// Label Studio's JSON export (tasks with annotations and predictions).
    case labelstudio
    /// CVAT for images 1.1 XML.
    case cvat

    /// Whether the format's path is a folder rather than a file.
    public var isFolder: Bool { self == .yolo || self == .voc }

    /// Reads and validates labels.
    /// - Parameters:
    ///   - path: the file (COCO, CSV, JSONL) or folder (YOLO, VOC).
    ///   - options: images root, known classes, leniency and an image-size reader.
    /// - Returns: the labels and, in lenient mode, the records that were skipped.
    /// - Throws: ``LabelError`` naming the file and the line or JSON path of the first invalid record
    ///   (strict mode), or of a file that cannot be parsed at all (both modes).
    public func read(from path: String, options: LabelReadOptions = LabelReadOptions()) throws(LabelError) -> LabelReadResult {
        let result: LabelReadResult
        do {
            switch self {
            case .coco: result = try COCOFormat.read(from: path, options: options)
            case .yolo: result = try YOLOFormat.read(from: path, options: options)
            case .voc: result = try VOCFormat.read(from: path, options: options)
            case .csv: result = try CSVFormat.read(from: path, options: options)
            case .jsonl: result = try JSONLFormat.read(from: path, options: options)
            case .labelstudio: result = try LabelStudioFormat.read(from: path, options: options)
            case .cvat: result = try CVATFormat.read(from: path, options: options)
            }
        } catch where error.kind == .invalidData {
            // Read as the wrong format, a file fails in ways that say nothing of the real mistake.
            if let detected = Self.detect(path), detected != self {
                var hinted = error
                hinted.issue.message += "; it looks like \(detected.rawValue), not \(rawValue): pass --format \(detected.rawValue)"
                throw hinted
            }
            throw error
        }
        // Class names become keys, file names and screen text: one printable line each, whatever the format.
        for c in result.labelSet.schema.classes {
            if let problem = LabelSchema.problem(withClassName: c.name) {
                throw LabelError(.malformed, file: path, message: "class name '\(LabelSchema.shown(c.name))' \(problem)")
            }
        }
        return result
    }

    /// Writes labels; each file is written atomically.
    /// - Throws: ``LabelError`` with code `.unrepresentable` when the labels do not fit the format
    ///   (for example a classification label in COCO, or YOLO without image sizes), or `.io`.
    public func write(_ labels: LabelSet, to path: String) throws(LabelError) {
        switch self {
        case .coco: try COCOFormat.write(labels, to: path)
        case .yolo: try YOLOFormat.write(labels, to: path)
        case .voc: try VOCFormat.write(labels, to: path)
        case .csv: try CSVFormat.write(labels, to: path)
        case .jsonl: try JSONLFormat.write(labels, to: path)
        case .labelstudio: try LabelStudioFormat.write(labels, to: path)
        case .cvat: try CVATFormat.write(labels, to: path)
        }
    }
}
