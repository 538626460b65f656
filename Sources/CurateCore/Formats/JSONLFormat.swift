import Foundation

/// Curate's native JSON Lines: an optional first line `{"schema": {"classes": [{"id": 0, "name": "cat"}, …]}}`,
/// then one line per item:
///
/// ```json
/// {"path": "a.jpg", "width": 640, "height": 480, "labels": [
///   {"class": "cat", "box": [10, 20, 100, 80], "source": "annotator:ana", "created": "2026-01-02T03:04:05.000Z", "seconds": 4.2},
///   {"classes": ["indoor", "night"]},
///   {"class": "person", "keypoints": [[x, y, v], …], "polygons": [[x0, y0, …]], "mask": {"size": [h, w], "counts": [...]}}]}
/// ```
/// A label with only `class` classifies the item; `classes` is multi-label; `span: [start, end]` labels text;
/// `box`, `keypoints`, `polygons` or `mask` make an object, with optional `attributes` (text values: VOC's
/// `difficult`, CVAT's `occluded`, …). Nothing is lost on a round-trip.
enum JSONLFormat {
    struct SchemaLine: Codable {
        var classes: [LabelClass]
        var tasks: [TaskKind]?
        /// A source format's file-level blocks (COCO `info`, `licenses`) as JSON text, kept for conversions.
        var extras: [String: String]?
    }

    struct Mask: Codable {
        var size: [Int]
        var counts: [Int]
    }

    struct Record: Codable {
        var id: Int?
        var `class`: String?
        var classes: [String]?
        var box: [Double]?
        var keypoints: [[Double]]?
        var polygons: [[Double]]?
        var mask: Mask?
        var iscrowd: Bool?
        var area: Double?
        var attributes: [String: String]?
        var span: [Int]?
        var source: String?
        var created: String?
        var seconds: Double?
        var confidence: Double?
    }

    struct Line: Codable {
        var schema: SchemaLine?
        var path: String?
        var width: Int?
        var height: Int?
        var labels: [Record]?
    }

    static func read(from path: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        let text = try readText(path)
        var check = RecordChecker(file: path, options: options)
        let decoder = JSONDecoder()
        var schema = options.schema
        var inferred = LabelSchema(classes: [])
        var items: [Item] = []
        var seen = Set<String>()
        var pending: [(Annotation, [String], RecordLocation)] = []  // class names resolved after reading all lines
        var extras: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineText = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if lineText.isEmpty { continue }
            let location = RecordLocation.line(n + 1)
            let line: Line
            do {
                line = try decoder.decode(Line.self, from: Data(lineText.utf8))
            } catch let error as DecodingError {
                if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                    try check.reject(location, jsonSyntaxMessage(Data(lineText.utf8)))
                    continue
                }
                let at = decodingLocation(error)
                try check.reject(location, (at == .file ? "" : "\(at): ") + decodingMessage(error))
                continue
            } catch {
                try check.reject(location, "not valid JSON")
                continue
            }
            if let header = line.schema {
                extras = header.extras ?? [:]
                guard items.isEmpty, schema == nil || options.schema != nil else {
                    throw check.malformed(location, "the schema line must come first")
                }
                if options.schema == nil { schema = LabelSchema(classes: header.classes, tasks: header.tasks ?? []) }
                continue
            }
            guard let rawPath = line.path else {
                try check.reject(location, "missing \"path\"")
                continue
            }
            guard let itemPath = try check.itemPath(rawPath, at: location) else { continue }
            guard seen.insert(itemPath).inserted else {
                try check.reject(location, "duplicate item '\(itemPath)' (put all its labels on one line)")
                continue
            }
            var width = line.width, height = line.height
            if let disk = check.sizeOnDisk(itemPath) {
                if let w = width, let h = height, (w, h) != disk {
                    try check.reject(location, "says \(w)x\(h) but '\(itemPath)' is \(disk.width)x\(disk.height) as displayed")
                    continue
                }
                width = disk.width; height = disk.height
            }
            var itemAnnotations: [(Annotation, [String], RecordLocation)] = []
            var valid = true
            for (k, record) in (line.labels ?? []).enumerated() {
                let at = RecordLocation.line(n + 1)
                let prefix = "labels[\(k)]: "
                guard let (label, names) = try decodeLabel(record, prefix: prefix, at: at, check: &check) else { valid = false; break }
                var source = AnnotationSource.imported
                if let s = record.source {
                    guard let parsed = AnnotationSource(s) else {
                        try check.reject(at, prefix + "source '\(s)' is not annotator:ID, model:NAME@VERSION or consensus")
                        valid = false; break
                    }
                    source = parsed
                }
                var created: Date?
                if let c = record.created {
                    guard let date = parseDate(c) else {
                        try check.reject(at, prefix + "created '\(c)' is not an ISO 8601 time")
                        valid = false; break
                    }
                    created = date
                }
                if let c = record.confidence, !(0...1).contains(c) {
                    try check.reject(at, prefix + "confidence \(c) is outside [0, 1]")
                    valid = false; break
                }
                itemAnnotations.append((Annotation(id: record.id, item: itemPath, label: label, source: source, createdAt: created,
                                                   secondsSpent: record.seconds, confidence: record.confidence), names, at))
            }
            if !valid { continue }
            // Geometry is checked now that the item size is known.
            var geometryOK = true
            for (annotation, _, at) in itemAnnotations {
                if case .object(let object) = annotation.label, try !check.checkObject(object, width: width, height: height, at: at) {
                    geometryOK = false
                    break
                }
            }
            if !geometryOK { continue }
            items.append(Item(path: itemPath, width: width, height: height))
            pending += itemAnnotations
        }
        // Resolve class names against the schema (given, from the header line, or inferred in sorted order).
        if schema == nil {
            inferred = LabelSchema(classNames: Set(pending.flatMap { $0.1 }).sorted())
        }
        let resolved = schema ?? inferred
        var annotations: [Annotation] = []
        for (annotation, names, at) in pending {
            var ids: [Int] = []
            for name in names {
                guard let id = try check.classID(named: name, schema: resolved, at: at) else { break }
                ids.append(id)
            }
            if ids.count != names.count { continue }
            var copy = annotation
            switch annotation.label {
            case .classification: copy.label = .classification(ids[0])
            case .multilabel: copy.label = .multilabel(Array(Set(ids)).sorted())
            case .span(let span, _): copy.label = .span(span, classID: ids[0])
            case .object(var object):
                object.classID = ids[0]
                copy.label = .object(object)
            }
            annotations.append(copy)
        }
        var finalSchema = resolved
        if finalSchema.tasks.isEmpty { finalSchema.tasks = COCOFormat.tasks(of: annotations) }
        var set = LabelSet(schema: finalSchema, items: items, annotations: annotations)
        set.extras = extras
        return LabelReadResult(labelSet: set, skipped: check.skipped)
    }

    /// A label with a placeholder class id (resolved later) and the class names it names.
    private static func decodeLabel(_ r: Record, prefix: String, at: RecordLocation, check: inout RecordChecker) throws(LabelError) -> (Label, [String])? {
        if let classes = r.classes {
            guard !classes.isEmpty else {
                try check.reject(at, prefix + "\"classes\" is empty")
                return nil
            }
            return (.multilabel([]), classes)
        }
        guard let name = r.class else {
            try check.reject(at, prefix + "missing \"class\"")
            return nil
        }
        if let span = r.span {
            guard span.count == 2, span[0] >= 0, span[1] >= span[0] else {
                try check.reject(at, prefix + "span must be [start, end] with 0 <= start <= end")
                return nil
            }
            return (.span(TextSpan(start: span[0], end: span[1]), classID: -1), [name])
        }
        if r.box == nil && r.keypoints == nil && r.polygons == nil && r.mask == nil {
            return (.classification(-1), [name])
        }
        var object = ObjectLabel(classID: -1, isCrowd: r.iscrowd ?? false, area: r.area, attributes: r.attributes ?? [:])
        if let box = r.box {
            guard box.count == 4 else {
                try check.reject(at, prefix + "box has \(box.count) numbers (needs x, y, width, height)")
                return nil
            }
            object.box = BoundingBox(x: box[0], y: box[1], width: box[2], height: box[3])
        }
        if let keypoints = r.keypoints {
            guard keypoints.allSatisfy({ $0.count == 3 }) else {
                try check.reject(at, prefix + "each keypoint must be [x, y, visibility]")
                return nil
            }
            if let bad = keypoints.firstIndex(where: { ![0, 1, 2].contains($0[2]) }) {
                try check.reject(at, prefix + "keypoint \(bad) has visibility \(keypoints[bad][2]) (must be 0, 1 or 2)")
                return nil
            }
            object.keypoints = keypoints.map { Keypoint(x: $0[0], y: $0[1], visibility: Int($0[2])) }
        }
        object.polygons = r.polygons ?? []
        if let mask = r.mask {
            guard mask.size.count == 2 else {
                try check.reject(at, prefix + "mask size must be [height, width]")
                return nil
            }
            object.mask = RLEMask(height: mask.size[0], width: mask.size[1], counts: mask.counts)
        }
        return (.object(object), [name])
    }

    static func write(_ set: LabelSet, to path: String) throws(LabelError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        do {
            out += try encoder.encode(["schema": SchemaLine(classes: set.schema.classes, tasks: set.schema.tasks, extras: set.extras.isEmpty ? nil : set.extras)])
            out += Data("\n".utf8)
            let grouped = set.annotationsByItem()
            for item in set.items {
                let records = (grouped[item.path] ?? []).map { record($0, schema: set.schema) }
                out += try encoder.encode(Line(path: item.path, width: item.width, height: item.height, labels: records))
                out += Data("\n".utf8)
            }
        } catch {
            throw LabelError(.unrepresentable, file: path, message: "cannot encode JSON: \(error)")
        }
        try writeFile(out, to: path)
    }

    private static func record(_ a: Annotation, schema: LabelSchema) -> Record {
        var r = Record()
        r.id = a.id
        switch a.label {
        case .classification(let id): r.class = schema.name(of: id)
        case .multilabel(let ids): r.classes = ids.map { schema.name(of: $0) }
        case .span(let span, let id):
            r.class = schema.name(of: id)
            r.span = [span.start, span.end]
        case .object(let o):
            r.class = schema.name(of: o.classID)
            r.box = o.box.map { [$0.x, $0.y, $0.width, $0.height] }
            r.keypoints = o.keypoints.isEmpty ? nil : o.keypoints.map { [$0.x, $0.y, Double($0.visibility)] }
            r.polygons = o.polygons.isEmpty ? nil : o.polygons
            r.mask = o.mask.map { Mask(size: [$0.height, $0.width], counts: $0.counts) }
            r.iscrowd = o.isCrowd ? true : nil
            r.area = o.area
            r.attributes = o.attributes.isEmpty ? nil : o.attributes
        }
        r.source = a.source == .imported ? nil : a.source.description
        r.created = a.createdAt.map(formatDate)
        r.seconds = a.secondsSpent
        r.confidence = a.confidence
        return r
    }
}
