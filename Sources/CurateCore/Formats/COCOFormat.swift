import Foundation

/// COCO JSON: `images`, `annotations` (bbox, polygon or RLE segmentation, keypoints) and `categories`.
/// Kept on a round-trip: ids, file names, sizes, boxes, segmentations, keypoints, `iscrowd`, `area`,
/// categories with supercategory, keypoint names and skeleton. Not kept: `info`, `licenses`, and image fields
/// other than `id`, `file_name`, `width`, `height`.
enum COCOFormat {
    struct File: Codable {
        var images: [Image]
        var annotations: [Object]?
        var categories: [Category]
    }

    struct Image: Codable {
        var id: Int
        var file_name: String
        var width: Int?
        var height: Int?
    }

    struct Category: Codable {
        var id: Int
        var name: String
        var supercategory: String?
        var keypoints: [String]?
        var skeleton: [[Int]]?
    }

    enum Segmentation: Codable {
        case polygons([[Double]])
        case rle(RLE)

        struct RLE: Codable {
            var size: [Int]
            var counts: Counts
        }

        enum Counts: Codable {
            case runs([Int])
            case compressed(String)

            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .compressed(s) } else { self = .runs(try c.decode([Int].self)) }
            }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .runs(let r): try c.encode(r)
                case .compressed(let s): try c.encode(s)
                }
            }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let p = try? c.decode([[Double]].self) { self = .polygons(p) } else { self = .rle(try c.decode(RLE.self)) }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .polygons(let p): try c.encode(p)
            case .rle(let r): try c.encode(r)
            }
        }
    }

    struct Object: Codable {
        var id: Int
        var image_id: Int
        var category_id: Int
        var bbox: [Double]?
        var area: Double?
        var iscrowd: Int?
        var segmentation: Segmentation?
        var keypoints: [Double]?
        var num_keypoints: Int?
    }

    static func read(from path: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        let data = try readFile(path)
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw LabelError(.malformed, file: path, message: jsonSyntaxMessage(data, decoding: error))
            }
            throw LabelError(.malformed, file: path, location: decodingLocation(error), message: decodingMessage(error))
        } catch {
            throw LabelError(.malformed, file: path, message: "not valid COCO JSON: \(error)")
        }
        var check = RecordChecker(file: path, options: options)

        // Categories: ids must be unique; with a given schema, names must be known and are mapped to its ids.
        var schema = LabelSchema(classes: [])
        var categoryMap: [Int: Int] = [:]
        var seenCategories = Set<Int>()
        for (i, category) in file.categories.enumerated() {
            let location = RecordLocation.jsonPath("$.categories[\(i)]")
            guard seenCategories.insert(category.id).inserted else {
                throw check.malformed(location, "duplicate category id \(category.id)")
            }
            if let first = file.categories[..<i].first(where: { $0.name == category.name }) {
                throw check.malformed(location, "duplicate category name '\(category.name)' (ids \(first.id) and \(category.id)); give each class one category")
            }
            if let given = options.schema {
                guard let id = try check.classID(named: category.name, schema: given, at: location) else { continue }
                categoryMap[category.id] = id
            } else {
                categoryMap[category.id] = category.id
            }
        }
        if let given = options.schema {
            schema = given
        } else {
            schema = LabelSchema(classes: file.categories.map {
                LabelClass(id: $0.id, name: $0.name, supercategory: $0.supercategory,
                           keypointNames: $0.keypoints ?? [], skeleton: $0.skeleton ?? [])
            })
        }

        var items: [Item] = []
        var itemByID: [Int: Int] = [:]
        var seenPaths = Set<String>()
        for (i, image) in file.images.enumerated() {
            let location = RecordLocation.jsonPath("$.images[\(i)]")
            if itemByID[image.id] != nil {
                try check.reject(location, "duplicate image id \(image.id)")
                continue
            }
            guard let itemPath = try check.itemPath(image.file_name, at: location) else { continue }
            guard seenPaths.insert(itemPath).inserted else {
                try check.reject(location, "duplicate file_name '\(itemPath)'")
                continue
            }
            if let w = image.width, let h = image.height, w <= 0 || h <= 0 {
                try check.reject(location, "image size \(w)x\(h) is not positive")
                continue
            }
            if let w = image.width, let h = image.height, let disk = check.sizeOnDisk(itemPath), disk != (w, h) {
                try check.reject(location, "says \(w)x\(h) but '\(itemPath)' is \(disk.width)x\(disk.height) as displayed (EXIF orientation?)")
                continue
            }
            let disk = (image.width == nil || image.height == nil) ? check.sizeOnDisk(itemPath) : nil
            itemByID[image.id] = items.count
            items.append(Item(path: itemPath, width: image.width ?? disk?.width, height: image.height ?? disk?.height, sourceID: image.id))
        }

        var annotations: [Annotation] = []
        var seenAnnotations = Set<Int>()
        for (i, object) in (file.annotations ?? []).enumerated() {
            let location = RecordLocation.jsonPath("$.annotations[\(i)]")
            guard seenAnnotations.insert(object.id).inserted else {
                try check.reject(location, "duplicate annotation id \(object.id)")
                continue
            }
            guard let itemIndex = itemByID[object.image_id] else {
                try check.reject(location, "image_id \(object.image_id) is not in images")
                continue
            }
            guard let classID = categoryMap[object.category_id] else {
                if seenCategories.contains(object.category_id) {
                    try check.reject(location, "category_id \(object.category_id) was skipped (its name is not a known class)")
                    continue
                }
                try check.reject(location, "unknown category_id \(object.category_id)")
                continue
            }
            var label = ObjectLabel(classID: classID, isCrowd: (object.iscrowd ?? 0) != 0, area: object.area)
            if let bbox = object.bbox {
                guard bbox.count == 4 else {
                    try check.reject(.jsonPath("$.annotations[\(i)].bbox"), "bbox has \(bbox.count) numbers (needs 4: x, y, width, height)")
                    continue
                }
                label.box = BoundingBox(x: bbox[0], y: bbox[1], width: bbox[2], height: bbox[3])
            }
            switch object.segmentation {
            case .polygons(let polygons): label.polygons = polygons
            case .rle(let rle):
                guard rle.size.count == 2 else {
                    try check.reject(.jsonPath("$.annotations[\(i)].segmentation.size"), "RLE size must be [height, width]")
                    continue
                }
                let counts: [Int]
                switch rle.counts {
                case .runs(let runs): counts = runs
                case .compressed(let text):
                    guard let decoded = RLEMask.decodeCompressedCounts(text) else {
                        try check.reject(.jsonPath("$.annotations[\(i)].segmentation.counts"), "RLE counts string is not valid")
                        continue
                    }
                    counts = decoded
                }
                label.mask = RLEMask(height: rle.size[0], width: rle.size[1], counts: counts)
            case nil: break
            }
            if let kp = object.keypoints {
                guard kp.count % 3 == 0 else {
                    try check.reject(.jsonPath("$.annotations[\(i)].keypoints"), "keypoints has \(kp.count) numbers (needs x, y, v triples)")
                    continue
                }
                if let bad = stride(from: 2, to: kp.count, by: 3).first(where: { ![0, 1, 2].contains(kp[$0]) }) {
                    try check.reject(.jsonPath("$.annotations[\(i)].keypoints"), "keypoint \(bad / 3) has visibility \(kp[bad]) (must be 0, 1 or 2)")
                    continue
                }
                label.keypoints = stride(from: 0, to: kp.count, by: 3).map {
                    Keypoint(x: kp[$0], y: kp[$0 + 1], visibility: Int(kp[$0 + 2]))
                }
            }
            guard label.box != nil || !label.polygons.isEmpty || label.mask != nil || !label.keypoints.isEmpty else {
                try check.reject(location, "has no bbox, segmentation or keypoints: a COCO object needs a geometry (image-level classes belong in CSV or JSONL)")
                continue
            }
            let item = items[itemIndex]
            guard try check.checkObject(label, width: item.width, height: item.height, at: location) else { continue }
            annotations.append(Annotation(id: object.id, item: item.path, label: .object(label)))
        }
        schema.tasks = tasks(of: annotations)
        var set = LabelSet(schema: schema, items: items, annotations: annotations)
        set.extras = extras(of: data)
        return LabelReadResult(labelSet: set, skipped: check.skipped)
    }

    /// `info` and `licenses`, as compact JSON text (kept through conversions; Curate does not model them).
    static func extras(of data: Data) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        for key in ["info", "licenses"] {
            guard let value = object[key], !(value is NSNull),
                  let text = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) else { continue }
            out["coco." + key] = String(decoding: text, as: UTF8.self)
        }
        return out
    }

    static func tasks(of annotations: [Annotation]) -> [TaskKind] {
        var kinds = Set<TaskKind>()
        for annotation in annotations {
            switch annotation.label {
            case .classification: kinds.insert(.classification)
            case .multilabel: kinds.insert(.multilabel)
            case .span: kinds.insert(.spans)
            case .object(let o):
                if o.box != nil { kinds.insert(.boxes) }
                if !o.keypoints.isEmpty { kinds.insert(.keypoints) }
                if !o.polygons.isEmpty || o.mask != nil { kinds.insert(.segmentation) }
            }
        }
        return TaskKind.allCases.filter(kinds.contains)
    }

    static func write(_ set: LabelSet, to path: String) throws(LabelError) {
        var nextImageID = (set.items.compactMap(\.sourceID).max() ?? 0) + 1
        var usedImageIDs = Set<Int>()
        var imageIDs: [String: Int] = [:]
        var images: [Image] = []
        for item in set.items {
            var id = item.sourceID ?? nextImageID
            if !usedImageIDs.insert(id).inserted { id = nextImageID; usedImageIDs.insert(id) }
            if id >= nextImageID { nextImageID = id + 1 }
            imageIDs[item.path] = id
            images.append(Image(id: id, file_name: item.path, width: item.width, height: item.height))
        }
        var nextAnnotationID = (set.annotations.compactMap(\.id).max() ?? 0) + 1
        var usedAnnotationIDs = Set<Int>()
        var objects: [Object] = []
        for annotation in set.annotations {
            guard case .object(let label) = annotation.label else {
                throw LabelError(.unrepresentable, file: path,
                                 message: "COCO holds objects only; '\(annotation.item)' has a \(kind(annotation.label)) label")
            }
            guard let imageID = imageIDs[annotation.item] else {
                throw LabelError(.unrepresentable, file: path, message: "annotation on '\(annotation.item)', which is not an item")
            }
            var id = annotation.id ?? nextAnnotationID
            if !usedAnnotationIDs.insert(id).inserted { id = nextAnnotationID; usedAnnotationIDs.insert(id) }
            if id >= nextAnnotationID { nextAnnotationID = id + 1 }
            var segmentation: Segmentation?
            if !label.polygons.isEmpty { segmentation = .polygons(label.polygons) }
            if let mask = label.mask {
                segmentation = .rle(.init(size: [mask.height, mask.width],
                                          counts: label.isCrowd ? .runs(mask.counts) : .compressed(RLEMask.encodeCompressedCounts(mask.counts))))
            }
            let area = label.area ?? label.mask.map { Double($0.area) } ?? label.box?.area
            objects.append(Object(
                id: id, image_id: imageID, category_id: label.classID,
                bbox: label.box.map { [$0.x, $0.y, $0.width, $0.height] }, area: area, iscrowd: label.isCrowd ? 1 : 0,
                segmentation: segmentation,
                keypoints: label.keypoints.isEmpty ? nil : label.keypoints.flatMap { [$0.x, $0.y, Double($0.visibility)] },
                num_keypoints: label.keypoints.isEmpty ? nil : label.keypoints.filter { $0.visibility > 0 }.count))
        }
        let categories = set.schema.classes.map {
            Category(id: $0.id, name: $0.name, supercategory: $0.supercategory,
                     keypoints: $0.keypointNames.isEmpty ? nil : $0.keypointNames,
                     skeleton: $0.skeleton.isEmpty ? nil : $0.skeleton)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var data = try encoder.encode(File(images: images, annotations: objects, categories: categories))
            let kept = ["info", "licenses"].compactMap { key in set.extras["coco." + key].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }.map { (key, $0) } }
            if !kept.isEmpty, var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
                for (key, value) in kept { object[key] = value }
                data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            }
            try writeFile(data + Data("\n".utf8), to: path)
        } catch let error as LabelError {
            throw error
        } catch {
            throw LabelError(.unrepresentable, file: path, message: "cannot encode COCO JSON: \(error)")
        }
    }
}

