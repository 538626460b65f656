import Foundation

/// How label files are read and checked.
///
/// ```swift
/// var options = LabelReadOptions(imagesRoot: "datasets/photos")
/// options.lenient = true
/// let result = try LabelFormat.coco.read(from: "datasets/photos/labels.coco.json", options: options)
/// print(result.skipped)   // invalid records, each with file and line or JSON path
/// ```
public struct LabelReadOptions: Sendable {
    /// The folder item paths are relative to. When set, every item's file must exist there.
    public var imagesRoot: String?
    /// Known classes: records naming any other class are invalid. Formats that carry their own
    /// class list (COCO, YOLO) are checked against it by name.
    public var schema: LabelSchema?
    /// Skip invalid records and report them instead of failing on the first.
    public var lenient: Bool
    /// Returns the upright (width, height) of the image at a full path, or nil when it cannot be read.
    /// Used to convert YOLO's normalised boxes and to check sizes stated in label files.
    public var imageSize: (@Sendable (String) -> (width: Int, height: Int)?)?
    /// Whether an item's file exists, given its path relative to the images root. Defaults to asking the file
    /// system; a caller that already listed the files (the versioning store) can answer from memory.
    public var itemExists: (@Sendable (String) -> Bool)?
    /// The items to read (a shard's own, say), given their normalised paths; nil reads all. Readers may leave out
    /// the other items' records unchecked, keeping only what every reader of the file must agree on (the class
    /// names a CSV file's ids are numbered from), or may read them all: a caller filters the result again. In
    /// lenient mode every record is read, since a skipped invalid record must not name a class.
    public var keep: (@Sendable (String) -> Bool)?

    /// Creates options.
    public init(imagesRoot: String? = nil, schema: LabelSchema? = nil, lenient: Bool = false,
                imageSize: (@Sendable (String) -> (width: Int, height: Int)?)? = nil) {
        self.imagesRoot = imagesRoot
        self.schema = schema
        self.lenient = lenient
        self.imageSize = imageSize
    }
}

/// The labels read from a file, and the records skipped in lenient mode.
public struct LabelReadResult: Sendable {
    /// The valid labels.
    public var labelSet: LabelSet
    /// Records left out because they were invalid (always empty unless lenient).
    public var skipped: [LabelIssue]
}

/// Collects or throws record problems while a reader runs; holds the checks every format shares.
struct RecordChecker {
    /// The file records are reported against; readers of folder formats move it from file to file.
    var file: String
    let options: LabelReadOptions
    private(set) var skipped: [LabelIssue] = []
    /// Boxes may overhang the image by this many pixels (floating-point slack of exporters).
    static let tolerance = 1e-3

    init(file: String, options: LabelReadOptions) {
        self.file = file
        self.options = options
    }

    /// Records an invalid record: throws in strict mode, remembers it in lenient mode.
    mutating func reject(_ location: RecordLocation, _ message: String) throws(LabelError) {
        let issue = LabelIssue(file: file, location: location, message: message)
        if !options.lenient {
            var error = LabelError(.invalidRecord, issue)
            error.issue.message += " (use --lenient to skip invalid records)"
            throw error
        }
        skipped.append(issue)
    }

    /// A file-level failure that lenient mode cannot skip.
    func malformed(_ location: RecordLocation, _ message: String) -> LabelError {
        LabelError(.malformed, file: file, location: location, message: message)
    }

    /// Whether the record of `raw` is left out unchecked: `keep` rejects its path (never in lenient mode).
    func skips(_ raw: String) -> Bool {
        guard let keep = options.keep, !options.lenient, let path = DatasetPath.normalize(raw) else { return false }
        return !keep(path)
    }

    /// Normalises an item path and checks it stays inside the root and (with an images root) exists.
    /// Returns nil, after rejecting, when the item must be skipped.
    mutating func itemPath(_ raw: String, at location: RecordLocation) throws(LabelError) -> String? {
        guard let path = DatasetPath.normalize(raw) else {
            try reject(location, "path '\(raw)' escapes the dataset root (absolute or with '..')")
            return nil
        }
        if let root = options.imagesRoot, !(options.itemExists?(path) ?? FileManager.default.fileExists(atPath: root + "/" + path)) {
            try reject(location, "missing image '\(path)' (not found under \(root))")
            return nil
        }
        return path
    }

    /// The upright size of an item's image on disk, when an images root and a size reader are given.
    func sizeOnDisk(_ path: String) -> (width: Int, height: Int)? {
        guard let root = options.imagesRoot, let reader = options.imageSize else { return nil }
        return reader(root + "/" + path)
    }

    /// Checks a class id against the schema in force.
    mutating func checkClass(_ id: Int, schema: LabelSchema, at location: RecordLocation) throws(LabelError) -> Bool {
        if schema.labelClass(id: id) != nil { return true }
        try reject(location, "unknown class id \(id) (known: \(schema.classes.map { "\($0.id)" }.joined(separator: ", ")))")
        return false
    }

    /// Resolves a class name to an id, rejecting unknown names.
    mutating func classID(named name: String, schema: LabelSchema, at location: RecordLocation) throws(LabelError) -> Int? {
        if let id = schema.id(named: name) { return id }
        try reject(location, "unknown class '\(name)' (known: \(schema.knownNames))")
        return nil
    }

    /// Checks an object's geometry: finite numbers, non-negative sizes, inside a `width`×`height` image when known.
    mutating func checkObject(_ object: ObjectLabel, width: Int?, height: Int?, at location: RecordLocation) throws(LabelError) -> Bool {
        if let box = object.box {
            let values = [box.x, box.y, box.width, box.height]
            if values.contains(where: { !$0.isFinite }) {
                try reject(location, "box has a non-finite value (NaN or infinity): \(format(values))")
                return false
            }
            if box.width < 0 || box.height < 0 {
                try reject(location, "box has negative size \(fmt(box.width))x\(fmt(box.height))")
                return false
            }
            if let width, let height {
                let t = Self.tolerance
                if box.x < -t || box.y < -t || box.maxX > Double(width) + t || box.maxY > Double(height) + t {
                    try reject(location, "box [\(fmt(box.x)), \(fmt(box.y)), \(fmt(box.maxX)), \(fmt(box.maxY))] extends outside the \(width)x\(height) image")
                    return false
                }
            }
        }
        for (k, point) in object.keypoints.enumerated() {
            if !point.x.isFinite || !point.y.isFinite {
                try reject(location, "keypoint \(k) has a non-finite coordinate")
                return false
            }
            if !(0...2).contains(point.visibility) {
                try reject(location, "keypoint \(k) has visibility \(point.visibility) (must be 0, 1 or 2)")
                return false
            }
            if point.visibility > 0, let width, let height,
                point.x < -Self.tolerance || point.y < -Self.tolerance || point.x > Double(width) + Self.tolerance
                    || point.y > Double(height) + Self.tolerance {
                try reject(location, "keypoint \(k) (\(fmt(point.x)), \(fmt(point.y))) is outside the \(width)x\(height) image")
                return false
            }
        }
        for (k, polygon) in object.polygons.enumerated() {
            if polygon.contains(where: { !$0.isFinite }) {
                try reject(location, "polygon \(k) has a non-finite coordinate")
                return false
            }
            if polygon.count < 6 || polygon.count % 2 != 0 {
                try reject(location, "polygon \(k) has \(polygon.count) coordinates (needs an even number, at least 6)")
                return false
            }
        }
        if let mask = object.mask {
            if mask.counts.contains(where: { $0 < 0 }) || mask.counts.reduce(0, +) != mask.width * mask.height {
                try reject(location, "mask run lengths do not add up to its \(mask.width)x\(mask.height) size")
                return false
            }
            if let width, let height, mask.width != width || mask.height != height {
                try reject(location, "mask is \(mask.width)x\(mask.height) but the image is \(width)x\(height)")
                return false
            }
        }
        return true
    }

    private func format(_ values: [Double]) -> String { "[" + values.map(fmt).joined(separator: ", ") + "]" }
}

/// Shortest readable form of a number for messages and text formats: integers without a decimal point.
func fmt(_ value: Double) -> String {
    if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return "\(value)"
}
