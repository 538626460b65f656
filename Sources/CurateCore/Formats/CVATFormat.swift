import Foundation

/// CVAT for images 1.1 (XML): `<annotations>` with a `<meta>` naming the labels (under `task`, `job` or
/// `project`), then one `<image id name width height>` per item holding `<box label xtl ytl xbr ybr occluded>`,
/// `<polygon label points="x,y;x,y;…">`, `<points label points=…>` and `<tag label>` elements, each with optional
/// `<attribute name="…">value</attribute>` children. Pixel coordinates; a box's corners are continuous
/// (`xbr − xtl` is its width, as in COCO). `occluded="1"` and the attributes become the object's attributes; one
/// tag classifies the image, several are multi-label; a polygon keeps its bounding box; `<points>` are keypoints.
/// Polylines, cuboids, ellipses and masks are refused (by name) rather than guessed.
enum CVATFormat {
    static func read(from path: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        let root = try VOCFormat.parse(path, root: "annotations")
        var check = RecordChecker(file: path, options: options)
        // Labels named in the meta block, in their order; else every label used, sorted.
        let meta = root.child("meta")
        let declared = [meta?.child("task"), meta?.child("job"), meta?.child("project"), meta].compactMap { $0?.child("labels") }.first?
            .children.filter { $0.name == "label" }.compactMap { $0.value("name") } ?? []
        let images = root.children.filter { $0.name == "image" }
        let used = Set(images.flatMap { $0.children.compactMap { $0.attributes["label"] } })
        var schema = options.schema ?? LabelSchema(classNames: declared.isEmpty ? used.sorted() : declared + used.subtracting(declared).sorted())
        var items: [Item] = [], annotations: [Annotation] = []
        var seen = Set<String>()
        for image in images {
            let at = RecordLocation.line(image.line)
            guard let name = image.attributes["name"], !name.isEmpty else { try check.reject(at, "<image> without a name"); continue }
            guard let itemPath = try check.itemPath(name, at: at) else { continue }
            guard seen.insert(itemPath).inserted else { try check.reject(at, "duplicate image '\(itemPath)'"); continue }
            var width = image.attributes["width"].flatMap { Int($0) }, height = image.attributes["height"].flatMap { Int($0) }
            if let disk = check.sizeOnDisk(itemPath) {
                if let w = width, let h = height, (w, h) != disk {
                    try check.reject(at, "says \(w)x\(h) but '\(itemPath)' is \(disk.width)x\(disk.height) as displayed")
                    continue
                }
                (width, height) = disk
            }
            items.append(Item(path: itemPath, width: width, height: height))
            var tags: [Int] = []
            for shape in image.children {
                let location = RecordLocation.line(shape.line)
                guard let label = shape.attributes["label"] else { try check.reject(location, "<\(shape.name)> without a label"); continue }
                guard let classID = try check.classID(named: label, schema: schema, at: location) else { continue }
                var attributes: [String: String] = [:]
                if shape.attributes["occluded"] == "1" { attributes["occluded"] = "1" }
                for a in shape.children where a.name == "attribute" {
                    guard let key = a.attributes["name"] else { continue }
                    attributes[key] = a.text.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                var object = ObjectLabel(classID: classID, attributes: attributes)
                switch shape.name {
                case "tag":
                    tags.append(classID)
                    continue
                case "box":
                    let corners = ["xtl", "ytl", "xbr", "ybr"].compactMap { shape.attributes[$0].flatMap(Double.init) }
                    guard corners.count == 4 else { try check.reject(location, "<box> needs numbers xtl, ytl, xbr, ybr"); continue }
                    if let rotation = shape.attributes["rotation"].flatMap(Double.init), abs(rotation) > 1e-9 {
                        try check.reject(location, "box rotated by \(fmt(rotation))°: Curate's boxes are axis-aligned")
                        continue
                    }
                    object.box = BoundingBox(x: corners[0], y: corners[1], width: corners[2] - corners[0], height: corners[3] - corners[1])
                case "polygon", "points":
                    guard let points = parsePoints(shape.attributes["points"] ?? ""), !points.isEmpty, shape.name == "points" || points.count >= 3 else {
                        try check.reject(location, "<\(shape.name)> needs points=\"x,y;x,y;…\"" + (shape.name == "polygon" ? " (at least 3)" : ""))
                        continue
                    }
                    if shape.name == "points" {
                        object.keypoints = points.map { Keypoint(x: $0.0, y: $0.1, visibility: 2) }
                    } else {
                        object.polygons = [points.flatMap { [$0.0, $0.1] }]
                        let xs = points.map(\.0), ys = points.map(\.1)
                        object.box = BoundingBox(x: xs.min()!, y: ys.min()!, width: xs.max()! - xs.min()!, height: ys.max()! - ys.min()!)
                    }
                default:
                    try check.reject(location, "<\(shape.name)> is not a shape Curate reads (box, polygon, points, tag)")
                    continue
                }
                guard try check.checkObject(object, width: width, height: height, at: location) else { continue }
                annotations.append(Annotation(item: itemPath, label: .object(object)))
            }
            if tags.count == 1 { annotations.append(Annotation(item: itemPath, label: .classification(tags[0]))) }
            if tags.count > 1 { annotations.append(Annotation(item: itemPath, label: .multilabel(tags))) }
        }
        schema.tasks = COCOFormat.tasks(of: annotations)
        return LabelReadResult(labelSet: LabelSet(schema: schema, items: items, annotations: annotations), skipped: check.skipped)
    }

    /// "x,y;x,y;…" as pairs; nil when a pair is not two finite numbers.
    static func parsePoints(_ text: String) -> [(Double, Double)]? {
        var out: [(Double, Double)] = []
        for pair in text.split(separator: ";") {
            let v = pair.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 2, v.allSatisfy(\.isFinite) else { return nil }
            out.append((v[0], v[1]))
        }
        return out
    }

    static func write(_ set: LabelSet, to path: String) throws(LabelError) {
        let e = VOCFormat.escape
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n    <task>\n      <size>\(set.items.count)</size>\n      <labels>\n"
        for c in set.schema.classes { xml += "        <label>\n          <name>\(e(c.name))</name>\n        </label>\n" }
        xml += "      </labels>\n    </task>\n  </meta>\n"
        let grouped = set.annotationsByItem()
        for (n, item) in set.items.enumerated() {
            xml += "  <image id=\"\(n)\" name=\"\(e(item.path))\"" + (item.width.map { " width=\"\($0)\"" } ?? "") + (item.height.map { " height=\"\($0)\"" } ?? "") + ">\n"
            for a in grouped[item.path] ?? [] {
                switch a.label {
                case .classification(let id): xml += "    <tag label=\"\(e(set.schema.name(of: id)))\" source=\"manual\"></tag>\n"
                case .multilabel(let ids): for id in ids { xml += "    <tag label=\"\(e(set.schema.name(of: id)))\" source=\"manual\"></tag>\n" }
                case .span:
                    throw LabelError(.unrepresentable, file: path, message: "CVAT for images holds image labels; '\(item.path)' has a text span")
                case .object(let o):
                    if o.mask != nil || o.polygons.count > 1 {
                        throw LabelError(.unrepresentable, file: path, message: "'\(item.path)': CVAT for images here holds one polygon per object; this \(set.schema.name(of: o.classID)) has \(o.mask != nil ? "a mask" : "\(o.polygons.count) polygons")")
                    }
                    let label = e(set.schema.name(of: o.classID))
                    let occluded = o.attributes["occluded"] == "1" ? "1" : "0"
                    let children = o.attributes.filter { $0.key != "occluded" }.sorted { $0.key < $1.key }
                        .map { "      <attribute name=\"\(e($0.key))\">\(e($0.value))</attribute>\n" }.joined()
                    func element(_ name: String, _ geometry: String) {
                        xml += "    <\(name) label=\"\(label)\" source=\"manual\" occluded=\"\(occluded)\" \(geometry) z_order=\"0\">\n" + children + "    </\(name)>\n"
                    }
                    if let polygon = o.polygons.first {
                        element("polygon", "points=\"" + stride(from: 0, to: polygon.count - 1, by: 2).map { "\(num(polygon[$0])),\(num(polygon[$0 + 1]))" }.joined(separator: ";") + "\"")
                    } else if let b = o.box {
                        element("box", "xtl=\"\(num(b.x))\" ytl=\"\(num(b.y))\" xbr=\"\(num(b.maxX))\" ybr=\"\(num(b.maxY))\"")
                    }
                    let visible = o.keypoints.filter { $0.visibility > 0 }
                    if !visible.isEmpty { element("points", "points=\"" + visible.map { "\(num($0.x)),\(num($0.y))" }.joined(separator: ";") + "\"") }
                }
            }
            xml += "  </image>\n"
        }
        xml += "</annotations>\n"
        try writeFile(Data(xml.utf8), to: path)
    }

    /// Shortest exact text of a coordinate (CVAT writes two decimals; more are kept, not rounded away).
    static func num(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)" }
}
