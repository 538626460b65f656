import Foundation

/// An axis-aligned box in pixels: top-left corner and size, origin at the image's top-left (COCO's convention).
public struct BoundingBox: Hashable, Sendable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    /// Creates a box from its top-left corner and size.
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// Right edge, `x + width`.
    public var maxX: Double { x + width }
    /// Bottom edge, `y + height`.
    public var maxY: Double { y + height }
    /// `width * height`.
    public var area: Double { width * height }

    /// Intersection over union with another box (0 when either is empty).
    public func iou(_ other: BoundingBox) -> Double {
        let w = min(maxX, other.maxX) - max(x, other.x)
        let h = min(maxY, other.maxY) - max(y, other.y)
        guard w > 0, h > 0 else { return 0 }
        let intersection = w * h
        let union = area + other.area - intersection
        return union > 0 ? intersection / union : 0
    }
}

/// A keypoint with COCO visibility: 0 not labeled, 1 labeled but hidden, 2 labeled and visible.
public struct Keypoint: Hashable, Sendable, Codable {
    public var x: Double
    public var y: Double
    public var visibility: Int

    public init(x: Double, y: Double, visibility: Int) {
        self.x = x
        self.y = y
        self.visibility = visibility
    }
}

/// A run-length-encoded mask in COCO's layout: column-major runs starting with background.
public struct RLEMask: Hashable, Sendable, Codable {
    public var height: Int
    public var width: Int
    /// Alternating run lengths of 0s and 1s, column by column; they sum to `height * width`.
    public var counts: [Int]

    public init(height: Int, width: Int, counts: [Int]) {
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Number of foreground pixels.
    public var area: Int { stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + counts[$1] } }

    /// The tight box around the foreground, or nil for an empty mask.
    public var boundingBox: BoundingBox? {
        var minX = Int.max, minY = Int.max, maxX = -1, maxY = -1
        var position = 0
        for (index, run) in counts.enumerated() {
            if index % 2 == 1, run > 0 {
                let first = position, last = position + run - 1
                let x0 = first / height, x1 = last / height
                minX = min(minX, x0); maxX = max(maxX, x1)
                if x0 == x1 {
                    minY = min(minY, first % height); maxY = max(maxY, last % height)
                } else {
                    // A run that crosses a column boundary covers the column's bottom and the next one's top.
                    minY = 0; maxY = height - 1
                }
            }
            position += run
        }
        guard maxX >= 0 else { return nil }
        return BoundingBox(x: Double(minX), y: Double(minY), width: Double(maxX - minX + 1), height: Double(maxY - minY + 1))
    }

    /// Decodes COCO's compressed string form of `counts` (the LEB128-like ASCII encoding of pycocotools).
    public static func decodeCompressedCounts(_ string: String) -> [Int]? {
        let bytes = Array(string.utf8)
        var counts: [Int] = []
        var p = 0
        while p < bytes.count {
            var x = 0, k = 0, more = true
            while more {
                guard p < bytes.count else { return nil }
                let c = Int(bytes[p]) - 48
                guard c >= 0, c < 64 else { return nil }
                x |= (c & 0x1f) << (5 * k)
                more = (c & 0x20) != 0
                p += 1
                k += 1
                if !more, (c & 0x10) != 0 { x |= -1 << (5 * k) }
            }
            if counts.count > 2 { x += counts[counts.count - 2] }
            counts.append(x)
        }
        return counts
    }

    /// Encodes `counts` in COCO's compressed string form.
    public static func encodeCompressedCounts(_ counts: [Int]) -> String {
        var out: [UInt8] = []
        for (i, count) in counts.enumerated() {
            var x = count
            if i > 2 { x -= counts[i - 2] }
            var more = true
            while more {
                var c = x & 0x1f
                x >>= 5
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                out.append(UInt8(c + 48))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A character range in a text item, `start..<end`.
public struct TextSpan: Hashable, Sendable, Codable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }
}

/// One object in an image: its class and any of a box, keypoints, polygons and a mask (as in a COCO annotation).
public struct ObjectLabel: Hashable, Sendable, Codable {
    public var classID: Int
    public var box: BoundingBox?
    public var keypoints: [Keypoint]
    /// Polygons as flat `[x0, y0, x1, y1, …]` lists in pixels.
    public var polygons: [[Double]]
    public var mask: RLEMask?
    /// COCO `iscrowd`.
    public var isCrowd: Bool
    /// COCO `area` as given in the source file (kept for round-trips); nil when not given.
    public var area: Double?
    /// Per-object flags and attributes of the tools that have them, as text: Pascal VOC's `difficult`,
    /// `truncated` and `pose`, CVAT's `occluded` and its `<attribute>`s. Empty for most objects (and then not
    /// stored at all, so labels without them keep their hashes).
    public var attributes: [String: String]

    public init(classID: Int, box: BoundingBox? = nil, keypoints: [Keypoint] = [], polygons: [[Double]] = [],
                mask: RLEMask? = nil, isCrowd: Bool = false, area: Double? = nil, attributes: [String: String] = [:]) {
        self.classID = classID
        self.box = box
        self.keypoints = keypoints
        self.polygons = polygons
        self.mask = mask
        self.isCrowd = isCrowd
        self.area = area
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey { case classID, box, keypoints, polygons, mask, isCrowd, area, attributes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        classID = try c.decode(Int.self, forKey: .classID)
        box = try c.decodeIfPresent(BoundingBox.self, forKey: .box)
        keypoints = try c.decodeIfPresent([Keypoint].self, forKey: .keypoints) ?? []
        polygons = try c.decodeIfPresent([[Double]].self, forKey: .polygons) ?? []
        mask = try c.decodeIfPresent(RLEMask.self, forKey: .mask)
        isCrowd = try c.decodeIfPresent(Bool.self, forKey: .isCrowd) ?? false
        area = try c.decodeIfPresent(Double.self, forKey: .area)
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(classID, forKey: .classID)
        try c.encodeIfPresent(box, forKey: .box)
        try c.encode(keypoints, forKey: .keypoints)
        try c.encode(polygons, forKey: .polygons)
        try c.encodeIfPresent(mask, forKey: .mask)
        try c.encode(isCrowd, forKey: .isCrowd)
        try c.encodeIfPresent(area, forKey: .area)
        if !attributes.isEmpty { try c.encode(attributes, forKey: .attributes) }
    }
}

/// What an annotation says about its item.
public enum Label: Hashable, Sendable {
    /// One class for the whole item.
    case classification(Int)
    /// A set of classes for the whole item (sorted ids).
    case multilabel([Int])
    /// An object located in the image.
    case object(ObjectLabel)
    /// A classed range of a text item.
    case span(TextSpan, classID: Int)

    /// The class ids this label mentions.
    public var classIDs: [Int] {
        switch self {
        case .classification(let id): [id]
        case .multilabel(let ids): ids
        case .object(let object): [object.classID]
        case .span(_, let id): [id]
        }
    }
}

/// Who or what produced an annotation.
public enum AnnotationSource: Hashable, Sendable, CustomStringConvertible {
    /// A person, by annotator id.
    case annotator(String)
    /// A model, by name and version.
    case model(name: String, version: String)
    /// Consensus of several annotators.
    case consensus
    /// Imported from a file that does not say (COCO, YOLO, VOC, CSV without a source column).
    case imported

    /// `annotator:ID`, `model:NAME@VERSION`, `consensus` or `imported`.
    public var description: String {
        switch self {
        case .annotator(let id): "annotator:\(id)"
        case .model(let name, let version): "model:\(name)@\(version)"
        case .consensus: "consensus"
        case .imported: "imported"
        }
    }

    /// Parses the form printed by ``description``.
    public init?(_ text: String) {
        if text == "consensus" { self = .consensus; return }
        if text == "imported" || text.isEmpty { self = .imported; return }
        if text.hasPrefix("annotator:"), text.count > 10 { self = .annotator(String(text.dropFirst(10))); return }
        if text.hasPrefix("model:") {
            let rest = text.dropFirst(6)
            guard let at = rest.lastIndex(of: "@"), at != rest.startIndex else { return nil }
            self = .model(name: String(rest[..<at]), version: String(rest[rest.index(after: at)...]))
            return
        }
        return nil
    }
}

/// A label on an item, with its provenance.
public struct Annotation: Hashable, Sendable {
    /// The id the annotation had in its source file (COCO annotation id), kept for round-trips.
    public var id: Int?
    /// The item's path (see ``Item/path``).
    public var item: String
    /// What the annotation says.
    public var label: Label
    /// Who made it.
    public var source: AnnotationSource
    /// When it was made.
    public var createdAt: Date?
    /// Seconds spent making it.
    public var secondsSpent: Double?
    /// The model's (or consensus') confidence, 0…1.
    public var confidence: Double?

    public init(id: Int? = nil, item: String, label: Label, source: AnnotationSource = .imported,
                createdAt: Date? = nil, secondsSpent: Double? = nil, confidence: Double? = nil) {
        self.id = id
        self.item = item
        self.label = label
        self.source = source
        self.createdAt = createdAt
        self.secondsSpent = secondsSpent
        self.confidence = confidence
    }
}

/// A labeled dataset in memory: schema, items and annotations. Every label format reads into and writes from this.
public struct LabelSet: Hashable, Sendable {
    public var schema: LabelSchema
    /// Items in a stable order (the order of the source file).
    public var items: [Item]
    public var annotations: [Annotation]
    /// File-level blocks a format carries that Curate does not model, kept verbatim (compact JSON text) so that a
    /// conversion round trip keeps them: `coco.info`, `coco.licenses`.
    public var extras: [String: String] = [:]

    public init(schema: LabelSchema, items: [Item] = [], annotations: [Annotation] = []) {
        self.schema = schema
        self.items = items
        self.annotations = annotations
    }

    /// Annotations grouped by item path, in item order.
    public func annotationsByItem() -> [String: [Annotation]] {
        Dictionary(grouping: annotations, by: \.item)
    }

    /// Number of labels per class name (objects, classifications and multilabel members all count).
    public func classCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for annotation in annotations {
            for id in annotation.label.classIDs { counts[schema.name(of: id), default: 0] += 1 }
        }
        return counts
    }
}
