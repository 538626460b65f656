import CurateCore
import CurateTestSupport
import Foundation
import Testing

/// Label Studio JSON and CVAT for images 1.1: read what the tools' own converters wrote (fixtures made once by
/// Fixtures/peers/make_peer_fixtures.sh), Label Studio's converter reads what Curate writes, and round trips keep
/// everything Curate models.
@Suite struct LabelStudioCVATTests {
    let coco = try! LabelFormat.coco.read(from: TestFixtures.repoPath("datasets/photos/labels.coco.json")).labelSet
    let peers = coreFixture("peers")

    /// (item, class name, box) of every box, sorted: what two readings must agree on.
    func boxes(_ set: LabelSet) -> [String] {
        set.annotations.compactMap { a -> String? in
            guard case .object(let o) = a.label, let b = o.box else { return nil }
            let r = { (v: Double) in String(format: "%.4f", v) }
            return "\(a.item) \(set.schema.name(of: o.classID)) \(r(b.x)) \(r(b.y)) \(r(b.width)) \(r(b.height))"
        }.sorted()
    }

    @Test func readsWhatLabelStudiosConverterWrote() throws {
        let tasks = try LabelFormat.labelstudio.read(from: peers + "/ls-import-photos.json").labelSet
        #expect(boxes(tasks) == boxes(coco) && boxes(coco).count == 38)
        // "/data/local-files/?d=/images/x.jpg" is the item images/x.jpg; sizes come from original_width/height.
        #expect(Set(tasks.items.map(\.path)) == Set(coco.items.map(\.path)))
        let motorcycle = try #require(tasks.items.first { $0.path == "images/motorcycle.jpg" })
        #expect(motorcycle.width == 741 && motorcycle.height == 500)
        #expect(tasks.annotations.allSatisfy { $0.source == .imported })
        let predictions = try LabelFormat.labelstudio.read(from: peers + "/ls-import-photos-predictions.json").labelSet
        #expect(boxes(predictions) == boxes(coco))
        #expect(predictions.annotations.allSatisfy { if case .model = $0.source { true } else { false } })
        #expect(LabelFormat.detect(peers + "/ls-import-photos.json") == .labelstudio)
    }

    @Test func labelStudiosConverterReadsWhatCurateWrote() throws {
        // The fixture is label-studio-converter's COCO export of Curate's Label Studio JSON of the photos. The
        // converter sizes an image from its stored pixels, ignoring EXIF orientation: chelsea-exif6.jpg (shown
        // 451×300) comes out 300×451, so its cat box no longer fits; every other box is Curate's exactly.
        let read = try LabelFormat.coco.read(from: peers + "/ls-export-of-curate.coco.json", options: LabelReadOptions(lenient: true))
        #expect(read.skipped.count == 1 && read.skipped.first.map { "\($0)".contains("300x451") } == true, "\(read.skipped)")
        #expect(boxes(read.labelSet) == boxes(coco).filter { !$0.hasPrefix("images/chelsea-exif6.jpg ") })
    }

    @Test func readsWhatDatumaroWroteForCVAT() throws {
        let cvat = try LabelFormat.cvat.read(from: peers + "/cvat-photos.xml").labelSet
        #expect(boxes(cvat) == boxes(coco))
        #expect(cvat.schema.classes.map(\.name) == coco.schema.classes.map(\.name))
        #expect(LabelFormat.detect(peers + "/cvat-photos.xml") == .cvat)
    }

    /// Everything Curate models that each format holds comes back: classes, multi-label, boxes, polygons,
    /// keypoints, annotators, models with confidence, times, seconds; CVAT's attributes and occluded.
    @Test func roundTrips() throws {
        let scratch = ScratchDirectory()
        let schema = LabelSchema(classNames: ["cat", "dog", "indoor", "night"])
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let set = LabelSet(schema: schema, items: [Item(path: "a.jpg", width: 640, height: 480), Item(path: "b.jpg", width: 200, height: 100)], annotations: [
            Annotation(item: "a.jpg", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 10.5, y: 20, width: 100, height: 80))),
                       source: .annotator("ana"), createdAt: t0, secondsSpent: 4.5),
            Annotation(item: "a.jpg", label: .object(ObjectLabel(classID: 1, box: BoundingBox(x: 100, y: 100, width: 200, height: 100),
                                                                polygons: [[100, 100, 300, 100, 200, 200]])), source: .annotator("ana"), createdAt: t0, secondsSpent: 4.5),
            Annotation(item: "a.jpg", label: .object(ObjectLabel(classID: 1, box: BoundingBox(x: 5, y: 6, width: 50, height: 60))),
                       source: .model(name: "yolo", version: "3"), confidence: 0.75),
            Annotation(item: "b.jpg", label: .classification(2), source: .annotator("ben")),
            Annotation(item: "b.jpg", label: .multilabel([2, 3]), source: .annotator("cy")),
            Annotation(item: "b.jpg", label: .object(ObjectLabel(classID: 0, keypoints: [Keypoint(x: 50, y: 25, visibility: 2)])), source: .annotator("ben")),
        ])
        try LabelFormat.labelstudio.write(set, to: scratch.path + "/ls.json")
        let ls = try LabelFormat.labelstudio.read(from: scratch.path + "/ls.json", options: LabelReadOptions(schema: schema)).labelSet
        #expect(Set(ls.annotations) == Set(set.annotations), "\(ls.annotations)")
        #expect(ls.items == set.items)

        var cvatSet = set
        cvatSet.annotations = set.annotations.map { a in
            var a = a
            a.source = .imported; a.createdAt = nil; a.secondsSpent = nil; a.confidence = nil   // CVAT XML holds no provenance
            if case .object(var o) = a.label, o.box?.x == 10.5 { o.attributes = ["occluded": "1", "color": "tabby & white"]; a.label = .object(o) }
            return a
        }
        try LabelFormat.cvat.write(cvatSet, to: scratch.path + "/cvat.xml")
        let cvat = try LabelFormat.cvat.read(from: scratch.path + "/cvat.xml", options: LabelReadOptions(schema: schema)).labelSet
        // CVAT's tags on one image: the single tag and the pair become one multi-label answer of three tags.
        let objects = { (s: LabelSet) in Set(s.annotations.filter { if case .object = $0.label { true } else { false } }) }
        #expect(objects(cvat) == objects(cvatSet), "\(cvat.annotations)")
        #expect(cvat.annotations.contains { $0.label == .multilabel([2, 2, 3]) || $0.label == .multilabel([2, 3, 2]) })
        #expect(try String(contentsOfFile: scratch.path + "/cvat.xml", encoding: .utf8).contains("occluded=\"1\""))
    }

    @Test func badInputIsRefusedByName() throws {
        let scratch = ScratchDirectory()
        let rotated = #"[{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "rectanglelabels", "original_width": 100, "original_height": 100, "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 30, "rectanglelabels": ["cat"]}}]}]}]"#
        scratch.write("rotated.json", rotated)
        #expect { try LabelFormat.labelstudio.read(from: scratch.path + "/rotated.json") } throws: { error in
            "\(error)".contains("$[0].annotations[0].result[0]") && "\(error)".contains("rotated by 30°")
        }
        scratch.write("nosize.json", rotated.replacingOccurrences(of: #""original_width": 100, "original_height": 100, "#, with: ""))
        #expect { try LabelFormat.labelstudio.read(from: scratch.path + "/nosize.json") } throws: { "\($0)".contains("percent coordinates cannot be turned into pixels") }
        scratch.write("nan.json", #"[{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "choices", "value": {"choices": [NaN]}}]}]}]"#)
        #expect { try LabelFormat.labelstudio.read(from: scratch.path + "/nan.json") } throws: { "\($0)".contains("NaN") }
        scratch.write("line.xml", "<annotations><image id=\"0\" name=\"a.jpg\" width=\"10\" height=\"10\">\n<polyline label=\"cat\" points=\"1,1;2,2\"/></image></annotations>")
        #expect { try LabelFormat.cvat.read(from: scratch.path + "/line.xml") } throws: { "\($0)".contains("line.xml:2: <polyline> is not a shape Curate reads") }
        // Writing boxes to Label Studio needs the image's size (its coordinates are percent).
        let unsized = LabelSet(schema: LabelSchema(classNames: ["cat"]), items: [Item(path: "a.jpg")],
                               annotations: [Annotation(item: "a.jpg", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 0, y: 0, width: 1, height: 1))))])
        #expect { try LabelFormat.labelstudio.write(unsized, to: scratch.path + "/out.json") } throws: { "\($0)".contains("the size of 'a.jpg' is unknown") }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out.json"))
    }

    /// Pascal VOC's difficult, truncated and pose survive a round trip (they were written as 0 and Unspecified).
    @Test func vocFlagsSurvive() throws {
        let scratch = ScratchDirectory()
        let set = LabelSet(schema: LabelSchema(classNames: ["cat"]), items: [Item(path: "a.jpg", width: 100, height: 100)], annotations: [
            Annotation(item: "a.jpg", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 0, y: 0, width: 10, height: 10), attributes: ["difficult": "1", "pose": "Left"]))),
            Annotation(item: "a.jpg", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 20, y: 20, width: 10, height: 10), attributes: ["truncated": "1"]))),
        ])
        try LabelFormat.voc.write(set, to: scratch.path + "/voc")
        let back = try LabelFormat.voc.read(from: scratch.path + "/voc").labelSet
        #expect(Set(back.annotations.map(\.label)) == Set(set.annotations.map(\.label)))
        // And through Curate's own JSON Lines.
        try LabelFormat.jsonl.write(back, to: scratch.path + "/x.jsonl")
        #expect(Set(try LabelFormat.jsonl.read(from: scratch.path + "/x.jsonl").labelSet.annotations.map(\.label)) == Set(set.annotations.map(\.label)))
    }
}
