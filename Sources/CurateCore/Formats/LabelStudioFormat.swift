import Foundation

/// Label Studio's JSON export (and import): an array of tasks,
///
/// ```json
/// [{"id": 1, "data": {"image": "images/a.jpg"},
///   "annotations": [{"completed_by": 3, "created_username": "ana", "lead_time": 4.2, "created_at": "…",
///                    "result": [{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
///                                "original_width": 640, "original_height": 480,
///                                "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
///                                          "rectanglelabels": ["cat"]}}]}],
///   "predictions": [{"model_version": "yolo@3", "score": 0.9, "result": […]}]}]
/// ```
///
/// Coordinates are percent of the image (`original_width`/`original_height` give it in pixels). Results read:
/// `rectanglelabels` (boxes; a rotated one is refused), `polygonlabels` (polygons, with their bounding box),
/// `keypointlabels` (one point each), `choices` (one: a classification, several: multi-label) and `labels` on text
/// (`start`/`end`: spans). An annotation's annotator is `created_username` (its part before ", "), else
/// `completed_by` (an email in an object, or the user id); a cancelled annotation is left out. Predictions become
/// `model:VERSION` labels with the result's or prediction's `score` as confidence. The item path is `data.image`
/// (or the task's only string in `data`), with Label Studio's local-files prefix (`/data/local-files/?d=`),
/// a cloud scheme and bucket (`s3://bucket/`) or a URL's host removed.
///
/// Written: one task per item, `data.image` the item path, annotations grouped by annotator (`created_username`),
/// predictions by model, `from_name` `label` (objects) or `choice` (classes) and `to_name` `image` (or `text`).
enum LabelStudioFormat {
    static func read(from path: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        let data = try readFile(path)
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw LabelError(.malformed, file: path, message: jsonSyntaxMessage(data))
        }
        guard let tasks = (root as? [Any]) ?? (root as? [String: Any]).map({ [$0] }) else {
            throw LabelError(.malformed, file: path, message: "expected a JSON array of Label Studio tasks")
        }
        var check = RecordChecker(file: path, options: options)
        var items: [Item] = []
        var seen = Set<String>()
        // Labels with their class names, resolved once every name is known.
        var pending: [(Annotation, [String], RecordLocation)] = []
        for (t, any) in tasks.enumerated() {
            let at = RecordLocation.jsonPath("$[\(t)]")
            guard let task = any as? [String: Any], let data = task["data"] as? [String: Any] else {
                try check.reject(at, "a task needs a \"data\" object")
                continue
            }
            let strings = data.filter { $0.value is String }
            guard let reference = (data["image"] as? String) ?? (data["text"] as? String) ?? (strings.count == 1 ? strings.first?.value as? String : nil) else {
                try check.reject(.jsonPath("$[\(t)].data"), "no data.image (or single string) naming the item")
                continue
            }
            guard let itemPath = try check.itemPath(itemPath(reference), at: .jsonPath("$[\(t)].data")) else { continue }
            guard seen.insert(itemPath).inserted else {
                try check.reject(at, "duplicate task for '\(itemPath)'")
                continue
            }
            var item = Item(path: itemPath)
            if let disk = check.sizeOnDisk(itemPath) { (item.width, item.height) = disk }
            var groups: [(source: AnnotationSource, created: Date?, seconds: Double?, score: Double?, results: [Any], path: String)] = []
            for (a, annotation) in ((task["annotations"] ?? task["completions"]) as? [[String: Any]] ?? []).enumerated() {
                if annotation["was_cancelled"] as? Bool == true { continue }
                groups.append((annotator(annotation), (annotation["created_at"] as? String).flatMap(parseDate), number(annotation["lead_time"]), nil,
                               annotation["result"] as? [Any] ?? [], "$[\(t)].annotations[\(a)]"))
            }
            for (p, prediction) in (task["predictions"] as? [[String: Any]] ?? []).enumerated() {
                let version = (prediction["model_version"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "label-studio"
                let source: AnnotationSource = version.contains("@") ? (AnnotationSource("model:" + version) ?? .model(name: version, version: "0"))
                    : .model(name: version, version: "0")
                groups.append((source, (prediction["created_at"] as? String).flatMap(parseDate), nil, number(prediction["score"]),
                               prediction["result"] as? [Any] ?? [], "$[\(t)].predictions[\(p)]"))
            }
            for group in groups {
                for (r, any) in group.results.enumerated() {
                    let location = RecordLocation.jsonPath("\(group.path).result[\(r)]")
                    guard let result = any as? [String: Any], let type = result["type"] as? String, let value = result["value"] as? [String: Any] else {
                        try check.reject(location, "a result needs \"type\" and \"value\"")
                        continue
                    }
                    if let w = number(result["original_width"]).map(Int.init), let h = number(result["original_height"]).map(Int.init), w > 0, h > 0,
                       item.width == nil {
                        (item.width, item.height) = (w, h)
                    }
                    guard let (label, names) = try labelOf(type: type, value: value, item: item, location: location, check: &check) else { continue }
                    let confidence = number(result["score"]) ?? group.score
                    pending.append((Annotation(item: itemPath, label: label, source: group.source, createdAt: group.created, secondsSpent: group.seconds,
                                               confidence: confidence), names, location))
                }
            }
            items.append(item)
        }
        var schema = options.schema ?? LabelSchema(classNames: Set(pending.flatMap(\.1)).sorted())
        let sizes = Dictionary(items.map { ($0.path, ($0.width, $0.height)) }, uniquingKeysWith: { a, _ in a })
        var annotations: [Annotation] = []
        for (annotation, names, location) in pending {
            var ids: [Int] = []
            for name in names { if let id = try check.classID(named: name, schema: schema, at: location) { ids.append(id) } }
            guard ids.count == names.count else { continue }
            var a = annotation
            switch a.label {
            case .classification: a.label = .classification(ids[0])
            case .multilabel: a.label = .multilabel(ids)
            case .span(let span, _): a.label = .span(span, classID: ids[0])
            case .object(var o):
                o.classID = ids[0]
                let size = sizes[a.item] ?? (nil, nil)
                guard try check.checkObject(o, width: size.0, height: size.1, at: location) else { continue }
                a.label = .object(o)
            }
            annotations.append(a)
        }
        schema.tasks = COCOFormat.tasks(of: annotations)
        return LabelReadResult(labelSet: LabelSet(schema: schema, items: items, annotations: annotations), skipped: check.skipped)
    }

    /// One result as a label (class ids still to resolve) and its class names.
    static func labelOf(type: String, value: [String: Any], item: Item, location: RecordLocation,
                        check: inout RecordChecker) throws(LabelError) -> (Label, [String])? {
        let names = (value[type] as? [String]) ?? []
        // Percent to pixels, rounded to a millionth of a pixel (12.4% of 500 is 61.99999999999999 in floating point).
        func pixels(_ percent: Double, _ size: Int?) -> Double? { size.map { (percent / 100 * Double($0) * 1e6).rounded() / 1e6 } }
        switch type {
        case "choices", "taxonomy":
            let chosen = (value["choices"] as? [String]) ?? (value["taxonomy"] as? [[String]])?.compactMap(\.last) ?? []
            guard !chosen.isEmpty else { try check.reject(location, "choices without a choice"); return nil }
            return chosen.count == 1 ? (.classification(-1), chosen) : (.multilabel([]), chosen)
        case "labels":
            guard let start = value["start"] as? Int, let end = value["end"] as? Int, let name = names.first else {
                try check.reject(location, "labels need start, end and a label (text spans)")
                return nil
            }
            return (.span(TextSpan(start: start, end: end), classID: -1), [name])
        case "rectanglelabels", "polygonlabels", "keypointlabels":
            guard names.count == 1, let name = names.first else {
                try check.reject(location, "\(type) needs exactly one label, found \(names.count)")
                return nil
            }
            guard item.width != nil, item.height != nil else {
                try check.reject(location, "no original_width/original_height: the percent coordinates cannot be turned into pixels")
                return nil
            }
            var object = ObjectLabel(classID: -1)
            if type == "rectanglelabels" {
                if let rotation = number(value["rotation"]), abs(rotation) > 1e-9 {
                    try check.reject(location, "box rotated by \(fmt(rotation))°: Curate's boxes are axis-aligned")
                    return nil
                }
                guard let x = number(value["x"]).flatMap({ pixels($0, item.width) }), let y = number(value["y"]).flatMap({ pixels($0, item.height) }),
                      let w = number(value["width"]).flatMap({ pixels($0, item.width) }), let h = number(value["height"]).flatMap({ pixels($0, item.height) }) else {
                    try check.reject(location, "rectangle needs numbers x, y, width, height")
                    return nil
                }
                object.box = BoundingBox(x: x, y: y, width: w, height: h)
            } else if type == "polygonlabels" {
                let points = (value["points"] as? [[Any]] ?? []).map { $0.compactMap(number) }
                guard points.count >= 3, points.allSatisfy({ $0.count == 2 }) else {
                    try check.reject(location, "polygon needs at least 3 points of [x, y]")
                    return nil
                }
                let flat = points.flatMap { [pixels($0[0], item.width)!, pixels($0[1], item.height)!] }
                object.polygons = [flat]
                let xs = stride(from: 0, to: flat.count, by: 2).map { flat[$0] }, ys = stride(from: 1, to: flat.count, by: 2).map { flat[$0] }
                object.box = BoundingBox(x: xs.min()!, y: ys.min()!, width: xs.max()! - xs.min()!, height: ys.max()! - ys.min()!)
            } else {
                guard let x = number(value["x"]).flatMap({ pixels($0, item.width) }), let y = number(value["y"]).flatMap({ pixels($0, item.height) }) else {
                    try check.reject(location, "keypoint needs numbers x, y")
                    return nil
                }
                object.keypoints = [Keypoint(x: x, y: y, visibility: 2)]
            }
            return (.object(object), [name])
        default:
            try check.reject(location, "result type '\(type)' is not one Curate reads (rectanglelabels, polygonlabels, keypointlabels, choices, labels)")
            return nil
        }
    }

    /// The item path in a task's reference to its file.
    static func itemPath(_ reference: String) -> String {
        if let range = reference.range(of: "?d=") {
            // Local files: the path after ?d= (the converter writes "?d=/images/a.jpg" with a slash).
            let path = reference[range.upperBound...].removingPercentEncoding ?? String(reference[range.upperBound...])
            return String(path.drop { $0 == "/" })
        }
        if let scheme = reference.range(of: "://") {
            let rest = reference[scheme.upperBound...]
            // s3://bucket/key, gs://bucket/key, https://host/path: the part after the bucket or host.
            return rest.firstIndex(of: "/").map { String(rest[rest.index(after: $0)...]) } ?? String(rest)
        }
        return reference
    }

    static func annotator(_ annotation: [String: Any]) -> AnnotationSource {
        if let name = annotation["created_username"] as? String {
            let who = name.components(separatedBy: ", ").first?.trimmingCharacters(in: .whitespaces) ?? ""
            if !who.isEmpty { return .annotator(who) }
        }
        switch annotation["completed_by"] {
        case let object as [String: Any]:
            if let email = object["email"] as? String { return .annotator(email) }
            if let id = object["id"] { return .annotator("\(id)") }
        case let text as String where !text.isEmpty: return .annotator(text)
        case let id as NSNumber: return .annotator("\(id)")
        default: break
        }
        return .imported
    }

    static func number(_ any: Any?) -> Double? {
        // true/false are NSNumbers too (of type "c"); 0 and 1 must stay numbers.
        guard let n = any as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        let v = n.doubleValue
        return v.isFinite ? v : nil
    }

    static func write(_ set: LabelSet, to path: String) throws(LabelError) {
        let grouped = set.annotationsByItem()
        var tasks: [[String: Any]] = []
        let isText = set.schema.tasks == [.spans]
        for (n, item) in set.items.enumerated() {
            var annotations: [[String: Any]] = [], predictions: [[String: Any]] = []
            // One Label Studio annotation per annotator (imported labels: one without a name), one prediction per model.
            var order: [AnnotationSource] = []
            var bySource: [AnnotationSource: [Annotation]] = [:]
            for a in grouped[item.path] ?? [] {
                if bySource[a.source] == nil { order.append(a.source) }
                bySource[a.source, default: []].append(a)
            }
            for source in order {
                let list = bySource[source]!
                var results: [[String: Any]] = []
                for a in list { results += try Self.results(a, item: item, schema: set.schema, file: path) }
                switch source {
                case .model(let name, let version):
                    var p: [String: Any] = ["model_version": version == "0" ? name : "\(name)@\(version)", "result": results]
                    if let score = list.compactMap(\.confidence).first { p["score"] = score }
                    predictions.append(p)
                default:
                    var a: [String: Any] = ["result": results, "was_cancelled": false]
                    if case .annotator(let who) = source { a["created_username"] = who }
                    if let created = list.compactMap(\.createdAt).max() { a["created_at"] = formatDate(created) }
                    if let seconds = list.compactMap(\.secondsSpent).first { a["lead_time"] = seconds }
                    annotations.append(a)
                }
            }
            tasks.append(["id": n + 1, "data": [isText ? "text" : "image": item.path], "annotations": annotations, "predictions": predictions])
        }
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: tasks, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) } catch {
            throw LabelError(.unrepresentable, file: path, message: "cannot encode JSON: \(error)")
        }
        try writeFile(data + Data("\n".utf8), to: path)
    }

    /// One annotation as Label Studio results (an object with keypoints gives one result per point).
    static func results(_ a: Annotation, item: Item, schema: LabelSchema, file: String) throws(LabelError) -> [[String: Any]] {
        func result(_ type: String, _ value: [String: Any], from: String, to: String = "image") -> [String: Any] {
            var r: [String: Any] = ["type": type, "value": value, "from_name": from, "to_name": to]
            if let w = item.width, let h = item.height, type.hasSuffix("labels"), type != "labels" { r["original_width"] = w; r["original_height"] = h }
            if let c = a.confidence { r["score"] = c }
            return r
        }
        switch a.label {
        case .classification(let id): return [result("choices", ["choices": [schema.name(of: id)]], from: "choice")]
        case .multilabel(let ids): return [result("choices", ["choices": ids.map { schema.name(of: $0) }], from: "choice")]
        case .span(let span, let id): return [result("labels", ["start": span.start, "end": span.end, "labels": [schema.name(of: id)]], from: "label", to: "text")]
        case .object(let o):
            guard let w = item.width, let h = item.height, w > 0, h > 0 else {
                throw LabelError(.unrepresentable, file: file, message: "Label Studio stores coordinates in percent of the image; the size of '\(item.path)' is unknown (add it with --images)")
            }
            let name = schema.name(of: o.classID)
            func px(_ v: Double, _ size: Int) -> Double { v / Double(size) * 100 }
            var out: [[String: Any]] = []
            if let polygon = o.polygons.first, o.polygons.count == 1 {
                let points = stride(from: 0, to: polygon.count - 1, by: 2).map { [px(polygon[$0], w), px(polygon[$0 + 1], h)] }
                out.append(result("polygonlabels", ["points": points, "polygonlabels": [name], "closed": true], from: "label"))
            } else if !o.polygons.isEmpty || o.mask != nil {
                throw LabelError(.unrepresentable, file: file, message: "'\(item.path)': Label Studio JSON here holds one polygon per object; this \(name) has \(o.mask != nil ? "a mask" : "\(o.polygons.count) polygons")")
            } else if let b = o.box {
                out.append(result("rectanglelabels", ["x": px(b.x, w), "y": px(b.y, h), "width": px(b.width, w), "height": px(b.height, h), "rotation": 0,
                                                      "rectanglelabels": [name]], from: "label"))
            }
            for k in o.keypoints where k.visibility > 0 {
                out.append(result("keypointlabels", ["x": px(k.x, w), "y": px(k.y, h), "width": 0.5, "keypointlabels": [name]], from: "label"))
            }
            return out
        }
    }
}
