import CurateCore
import CurateTestSupport
import Foundation
import Testing

func coreFixture(_ relative: String) -> String { TestFixtures.path("CurateCore", relative) }

/// Parses JSON into Foundation objects for structural comparison (key order and number spelling ignored).
func jsonObject(_ path: String) throws -> NSDictionary {
    let data = try #require(FileManager.default.contents(atPath: path))
    return try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
}

@Suite struct COCOFormatTests {
    @Test func roundTripIsLossless() throws {
        let scratch = ScratchDirectory()
        for source in [coreFixture("rich.coco.json"), TestFixtures.repoPath("datasets/photos/labels.coco.json")] {
            let first = try LabelFormat.coco.read(from: source).labelSet
            let out = scratch.file("out.json")
            try LabelFormat.coco.write(first, to: out)
            let second = try LabelFormat.coco.read(from: out).labelSet
            #expect(first == second)
            // The exported JSON says the same as the original, field for field.
            let original = try jsonObject(source), exported = try jsonObject(out)
            for key in ["images", "annotations", "categories"] {
                #expect(original[key] as? NSArray == exported[key] as? NSArray, "\(source): \(key)")
            }
            // Writing again is byte-identical.
            let again = scratch.file("again.json")
            try LabelFormat.coco.write(second, to: again)
            #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: again))
        }
    }

    @Test func readsEveryGeometry() throws {
        let set = try LabelFormat.coco.read(from: coreFixture("rich.coco.json")).labelSet
        #expect(set.items.map(\.path) == ["a.png", "sub/b.jpg"])
        #expect(set.items.map(\.sourceID) == [7, 9])
        #expect(set.schema.classes.map(\.name) == ["cat", "person"])
        #expect(set.schema.labelClass(id: 5)?.keypointNames == ["nose", "left_eye", "right_eye"])
        #expect(set.schema.tasks == [.boxes, .keypoints, .segmentation])
        guard case .object(let polygon) = set.annotations[0].label, case .object(let keypoints) = set.annotations[1].label,
              case .object(let crowd) = set.annotations[2].label, case .object(let compressed) = set.annotations[3].label
        else { Issue.record("expected objects"); return }
        #expect(polygon.box == BoundingBox(x: 1.5, y: 2, width: 4, height: 3.25))
        #expect(polygon.polygons == [[1.5, 2, 5.5, 2, 5.5, 5.25, 1.5, 5.25]])
        #expect(keypoints.keypoints == [Keypoint(x: 1, y: 1, visibility: 2), Keypoint(x: 0, y: 0, visibility: 0), Keypoint(x: 1.5, y: 0.5, visibility: 1)])
        #expect(crowd.isCrowd && crowd.mask?.counts == [51, 3, 13, 3, 13, 3, 234])
        #expect(crowd.mask?.boundingBox == BoundingBox(x: 3, y: 3, width: 3, height: 3))
        #expect(compressed.mask?.area == 10)
        #expect(compressed.mask?.boundingBox == BoundingBox(x: 10, y: 1, width: 4, height: 3))
    }

    struct RLECase: Decodable, Sendable { var size: [Int]; var counts: String; var runs: [Int]; var area: Int; var bbox: [Double] }

    @Test func compressedRLEMatchesPycocotools() throws {
        let data = try #require(FileManager.default.contents(atPath: coreFixture("globox/rle.json")))
        let cases = try JSONDecoder().decode([RLECase].self, from: data)
        #expect(cases.count == 4)
        for c in cases {
            #expect(RLEMask.decodeCompressedCounts(c.counts) == c.runs)
            #expect(RLEMask.encodeCompressedCounts(c.runs) == c.counts)
            let mask = RLEMask(height: c.size[0], width: c.size[1], counts: c.runs)
            #expect(mask.area == c.area)
            let box = try #require(mask.boundingBox)
            #expect([box.x, box.y, box.width, box.height] == c.bbox)
        }
    }

    @Test func photosDatasetSizesAgreeWithTheImages() throws {
        // With an images root and a size reader, COCO's stated sizes are checked against the files.
        let root = TestFixtures.repoPath("datasets/photos")
        let sizes: [String: (Int, Int)] = ["images/chelsea-exif6.jpg": (451, 300)]
        let options = LabelReadOptions(imagesRoot: root, imageSize: { path in
            sizes[String(path.dropFirst(root.count + 1))].map { (width: $0.0, height: $0.1) }
        })
        let set = try LabelFormat.coco.read(from: root + "/labels.coco.json", options: options).labelSet
        #expect(set.items.count == 14)
        #expect(set.annotations.count == 38)
        #expect(set.classCounts()["coin"] == 24)
    }
}

/// COCO's `info` and `licenses` blocks are kept through conversions (to COCO directly, and through JSON Lines).
@Test func cocoInfoAndLicensesSurviveRoundTrips() throws {
    let scratch = ScratchDirectory()
    let info = #"{"contributor":"Curate tests","date_created":"2026-11-30","description":"two cats","url":"https://example.org","version":"1.0","year":2026}"#
    let licenses = #"[{"id":1,"name":"CC BY 4.0","url":"https://creativecommons.org/licenses/by/4.0/"}]"#
    scratch.write("in.json", #"{"info": \#(info), "licenses": \#(licenses), "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0}], "categories": [{"id": 1, "name": "cat"}]}"#)
    let set = try LabelFormat.coco.read(from: scratch.path + "/in.json").labelSet
    #expect(set.extras == ["coco.info": info, "coco.licenses": licenses])
    try LabelFormat.jsonl.write(set, to: scratch.path + "/mid.jsonl")
    let mid = try LabelFormat.jsonl.read(from: scratch.path + "/mid.jsonl").labelSet
    try LabelFormat.coco.write(mid, to: scratch.path + "/out.json")
    let out = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/out.json"))) as! [String: Any]
    let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/in.json"))) as! [String: Any]
    #expect((out["info"] as? NSDictionary) == (original["info"] as? NSDictionary))
    #expect((out["licenses"] as? NSArray) == (original["licenses"] as? NSArray))
}
