import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Pascal VOC: one XML file per image (in the folder, or its `Annotations/` subfolder), with `size` and
/// `object`s whose `bndbox` corners are 1-based inclusive pixel indices, as the VOC devkit defines them.
/// A box covering pixel columns 0…9 (COCO x = 0, width = 10) is `xmin = 1, xmax = 10`; reading subtracts 1
/// from `xmin`/`ymin` and keeps `xmax`/`ymax` (as detectron2 and torchvision do).
/// The item path is the XML file's folder (relative to the VOC folder) joined with `filename`, or `filename`
/// itself when it already holds a folder (as globox writes it).
enum VOCFormat {
    final class Element {
        let name: String
        let line: Int
        var text = ""
        var attributes: [String: String] = [:]
        var children: [Element] = []
        init(name: String, line: Int) {
            self.name = name
            self.line = line
        }
        func child(_ name: String) -> Element? { children.first { $0.name == name } }
        func value(_ name: String) -> String? { child(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [Element] = []
        var root: Element?

        /// VOC files nest 3 levels; a file nested deeper than this is refused before its tree grows (a tree
        /// 50,000 levels deep overflowed the stack when it was freed).
        static let maxDepth = 64

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            guard stack.count < Self.maxDepth else {
                if error == nil { error = (parser.lineNumber, "elements nest deeper than \(Self.maxDepth) levels") }
                parser.abortParsing()
                return
            }
            let element = Element(name: name, line: parser.lineNumber)
            element.attributes = attributes
            stack.last?.children.append(element)
            if stack.isEmpty { root = element }
            stack.append(element)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            _ = stack.popLast()
        }

        var error: (line: Int, message: String)?

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            if error == nil { error = (parser.lineNumber, (parseError as NSError).localizedDescription) }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }
    }

    static func parse(_ path: String, root expected: String = "annotation") throws(LabelError) -> Element {
        // UTF-8 checked first: Foundation's XMLParser traps on an element name that is not valid UTF-8 (found by
        // scripts/fuzz voc).
        let data = Data(try readText(path).utf8)
        let parser = XMLParser(data: data)
        let builder = TreeBuilder()
        parser.delegate = builder
        let parsed = parser.parse()
        if let error = builder.error {
            throw LabelError(.malformed, file: path, location: .line(max(1, error.line)), message: "not valid XML: \(error.message)")
        }
        guard parsed, let root = builder.root else {
            let reason = parser.parserError.map { ($0 as NSError).localizedDescription } ?? "unknown error"
            throw LabelError(.malformed, file: path, location: .line(max(1, parser.lineNumber)), message: "not valid XML: \(reason)")
        }
        guard root.name == expected else {
            throw LabelError(.malformed, file: path, location: .line(root.line), message: "root element is <\(root.name)>, expected <\(expected)>")
        }
        return root
    }

    static func read(from folder: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw LabelError(.notFound, file: folder, message: "no such folder")
        }
        let (base, files) = isDirectory.boolValue ? filesWithExtension("xml", in: folder, preferring: "Annotations") : ((folder as NSString).deletingLastPathComponent, [(folder as NSString).lastPathComponent])
        var check = RecordChecker(file: folder, options: options)
        var parsed: [(String, String, Element)] = []
        for relative in files {
            let path = base + "/" + relative
            parsed.append((relative, path, try parse(path)))
        }
        // Classes: the given schema, else every object name sorted, ids 0…n-1.
        var schema = options.schema ?? LabelSchema(classNames: Set(parsed.flatMap { $0.2.children.filter { $0.name == "object" }.compactMap { $0.value("name") } }).sorted())
        var items: [Item] = []
        var annotations: [Annotation] = []
        var seen = Set<String>()
        for (relative, path, root) in parsed {
            check.file = path
            guard let filename = root.value("filename"), !filename.isEmpty else {
                try check.reject(.line(root.line), "missing <filename>")
                continue
            }
            let folderPart = (relative as NSString).deletingLastPathComponent
            // A bare file name sits beside its XML file; a name with a folder is relative to the dataset root.
            let raw = folderPart.isEmpty || filename.contains("/") ? filename : folderPart + "/" + filename
            guard let itemPath = try check.itemPath(raw, at: .line(root.child("filename")?.line ?? root.line)) else { continue }
            guard seen.insert(itemPath).inserted else {
                try check.reject(.line(root.line), "duplicate image '\(itemPath)'")
                continue
            }
            var width: Int?, height: Int?
            if let size = root.child("size") {
                width = size.value("width").flatMap { Int($0) ?? Double($0).flatMap { Int(exactly: $0.rounded(.towardZero)) } }
                height = size.value("height").flatMap { Int($0) ?? Double($0).flatMap { Int(exactly: $0.rounded(.towardZero)) } }
                if let w = width, let h = height, w <= 0 || h <= 0 {
                    // Some exporters write 0x0 for unknown sizes.
                    width = nil; height = nil
                }
            }
            if let disk = check.sizeOnDisk(itemPath) {
                if let w = width, let h = height, (w, h) != disk {
                    try check.reject(.line(root.child("size")?.line ?? root.line), "says \(w)x\(h) but '\(itemPath)' is \(disk.width)x\(disk.height) as displayed")
                    continue
                }
                width = disk.width; height = disk.height
            }
            items.append(Item(path: itemPath, width: width, height: height))
            for object in root.children where object.name == "object" {
                let location = RecordLocation.line(object.line)
                guard let name = object.value("name"), !name.isEmpty else {
                    try check.reject(location, "object without <name>")
                    continue
                }
                guard let classID = try check.classID(named: name, schema: schema, at: location) else { continue }
                guard let box = object.child("bndbox") else {
                    try check.reject(location, "object '\(name)' without <bndbox>")
                    continue
                }
                var corners: [Double] = []
                for key in ["xmin", "ymin", "xmax", "ymax"] {
                    guard let text = box.value(key), let value = Double(text) else {
                        try check.reject(.line(box.child(key)?.line ?? box.line), "<\(key)> is missing or not a number")
                        break
                    }
                    corners.append(value)
                }
                guard corners.count == 4 else { continue }
                // Flags kept as attributes when set: difficult, truncated, occluded (1), and a pose other than Unspecified.
                var attributes: [String: String] = [:]
                for flag in ["difficult", "truncated", "occluded"] where object.value(flag) == "1" { attributes[flag] = "1" }
                if let pose = object.value("pose"), !pose.isEmpty, pose != "Unspecified" { attributes["pose"] = pose }
                let label = ObjectLabel(
                    classID: classID,
                    box: BoundingBox(x: corners[0] - 1, y: corners[1] - 1, width: corners[2] - corners[0] + 1, height: corners[3] - corners[1] + 1),
                    attributes: attributes)
                guard try check.checkObject(label, width: width, height: height, at: location) else { continue }
                annotations.append(Annotation(item: itemPath, label: .object(label)))
            }
        }
        schema.tasks = COCOFormat.tasks(of: annotations)
        return LabelReadResult(labelSet: LabelSet(schema: schema, items: items, annotations: annotations), skipped: check.skipped)
    }

    static func write(_ set: LabelSet, to folder: String) throws(LabelError) {
        let grouped = set.annotationsByItem()
        for item in set.items {
            var xml = "<annotation>\n"
            let directory = (item.path as NSString).deletingLastPathComponent
            if !directory.isEmpty { xml += "  <folder>\(escape(directory))</folder>\n" }
            xml += "  <filename>\(escape((item.path as NSString).lastPathComponent))</filename>\n"
            if let w = item.width, let h = item.height {
                xml += "  <size>\n    <width>\(w)</width>\n    <height>\(h)</height>\n    <depth>3</depth>\n  </size>\n"
            }
            for annotation in grouped[item.path] ?? [] {
                guard case .object(let object) = annotation.label, let box = object.box else {
                    throw LabelError(.unrepresentable, file: folder, message: "Pascal VOC holds boxes only; '\(item.path)' has a \(kind(annotation.label)) label without a box")
                }
                xml += "  <object>\n    <name>\(escape(set.schema.name(of: object.classID)))</name>\n"
                let a = object.attributes
                xml += "    <pose>\(escape(a["pose"] ?? "Unspecified"))</pose>\n    <truncated>\(a["truncated"] == "1" ? 1 : 0)</truncated>\n"
                xml += "    <difficult>\(a["difficult"] == "1" ? 1 : 0)</difficult>\n" + (a["occluded"] == "1" ? "    <occluded>1</occluded>\n" : "")
                xml += "    <bndbox>\n      <xmin>\(fmt(box.x + 1))</xmin>\n      <ymin>\(fmt(box.y + 1))</ymin>\n"
                xml += "      <xmax>\(fmt(box.maxX))</xmax>\n      <ymax>\(fmt(box.maxY))</ymax>\n    </bndbox>\n  </object>\n"
            }
            xml += "</annotation>\n"
            let stem = (item.path as NSString).deletingPathExtension
            try writeFile(Data(xml.utf8), to: folder + "/" + stem + ".xml")
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
