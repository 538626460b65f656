import CurateCore
import CurateTestSupport
@testable import CurateVersioning
import Foundation
import Testing

@Suite struct LabelDiffTests {
    /// Ten items relabeled: class changes, a moved box, a removed box, an added box, a box given a new class.
    @Test func relabelingIsReportedItemByItem() throws {
        let scratch = ScratchDirectory()
        var lines = ["path,label,annotator"]
        for i in 0..<10 {
            scratch.write("img/\(i).png", "pixels \(i)")
            lines.append("img/\(i).png,\(i % 2 == 0 ? "cat" : "dog"),ana")
        }
        let csv = scratch.write("labels.csv", lines.joined(separator: "\n") + "\n")
        let repo = try Repository.initialize(at: scratch.path)
        _ = try repo.add([scratch.path + "/img"], labels: LabelImport(path: csv, format: .csv, imagesRoot: scratch.path))
        // Boxes for three items, in JSONL.
        func jsonl(_ boxes: [String: [(String, [Double])]]) -> String {
            boxes.keys.sorted().map { path in
                let labels = boxes[path]!.map { #"{"class": "\#($0.0)", "box": [\#($0.1.map { String($0) }.joined(separator: ", "))], "source": "annotator:ana"}"# }
                return #"{"path": "\#(path)", "width": 100, "height": 100, "labels": [\#(labels.joined(separator: ", "))]}"#
            }.joined(separator: "\n") + "\n"
        }
        let v1 = scratch.write("boxes.jsonl", jsonl([
            "img/0.png": [("cat", [10, 10, 40, 40]), ("dog", [60, 60, 20, 20])],
            "img/1.png": [("dog", [0, 0, 50, 50])],
            "img/2.png": [("cat", [5, 5, 10, 10])],
        ]))
        _ = try repo.add([], labels: LabelImport(path: v1, format: .jsonl, imagesRoot: scratch.path))
        let first = try repo.commit(message: "v1", author: "ana")

        // Relabel: items 3..9 change class where odd; boxes: move one (IoU 30x40 overlap), remove one, add one, reclass one.
        var relabel = ["path,label,annotator"]
        for i in 3..<10 { relabel.append("img/\(i).png,\(i % 2 == 0 ? "cat" : "bird"),bo") }
        _ = try repo.add([], labels: LabelImport(path: scratch.write("relabel.csv", relabel.joined(separator: "\n") + "\n"), format: .csv, imagesRoot: scratch.path))
        let v2 = scratch.write("boxes2.jsonl", jsonl([
            "img/0.png": [("cat", [20, 10, 40, 40])],                       // moved by 10 px; dog box removed
            "img/1.png": [("dog", [0, 0, 50, 50]), ("cat", [70, 70, 10, 10])], // one added
            "img/2.png": [("dog", [5, 5, 10, 10])],                          // same box, new class
        ]).replacingOccurrences(of: "annotator:ana", with: "annotator:bo"))
        _ = try repo.add([], labels: LabelImport(path: v2, format: .jsonl, imagesRoot: scratch.path))
        let second = try repo.commit(message: "v2", author: "bo")

        let diff = try repo.diff(from: first.id.hex, to: second.id.hex)
        let byItem = Dictionary(uniqueKeysWithValues: diff.labels.map { ($0.item, $0) })
        // Items 3, 5, 7, 9 change class dog -> bird; 4, 6, 8 keep cat but their annotator changed (a provenance change).
        for i in [3, 5, 7, 9] {
            #expect(byItem["img/\(i).png"]?.changes == [LabelChange(kind: "class", fromClass: "dog", toClass: "bird")])
            #expect(byItem["img/\(i).png"]?.by == ["annotator:bo"])
        }
        let moved = try #require(byItem["img/0.png"]?.changes)
        #expect(moved.count == 2)
        #expect(moved[0].kind == "box-moved" && moved[0].fromBox == [10, 10, 40, 40] && moved[0].toBox == [20, 10, 40, 40])
        // Overlap 30x40 = 1200; union 1600 + 1600 - 1200 = 2000.
        #expect(abs((moved[0].iou ?? 0) - 0.6) < 1e-9)
        #expect(moved[1] == LabelChange(kind: "box-removed", fromClass: "dog", fromBox: [60, 60, 20, 20]))
        #expect(byItem["img/1.png"]?.changes == [LabelChange(kind: "box-added", toClass: "cat", toBox: [70, 70, 10, 10])])
        let reclassed = try #require(byItem["img/2.png"]?.changes.first)
        #expect(reclassed.kind == "box-class" && reclassed.fromClass == "cat" && reclassed.toClass == "dog" && reclassed.iou == 1)
        // Items 4, 6 and 8 only changed annotator: reported as such, so diff counts what status and commit count.
        #expect(diff.labels.map(\.item) == (0..<10).map { "img/\($0).png" })
        for i in [4, 6, 8] {
            #expect(byItem["img/\(i).png"]?.changes == [LabelChange(kind: "provenance", fromClass: "annotator:ana", toClass: "annotator:bo")])
        }
        // Class balance. Importing boxes for items 0-2 replaced their CSV classes, so before: cat = items 4, 6, 8
        // + boxes on 0 and 2; dog = items 3, 5, 7, 9 + boxes on 0 and 1. After: items 3-9 odd are birds.
        let counts = Dictionary(uniqueKeysWithValues: diff.classes.map { ($0.name, ($0.before, $0.after)) })
        #expect(counts["bird"]! == (0, 4))
        #expect(counts["dog"]! == (6, 2))
        #expect(counts["cat"]! == (5, 5))
        #expect(diff.shift.totalVariation > 0.2 && diff.shift.pValue < 0.05)
    }

    @Test func chiSquareSurvivalMatchesKnownValues() {
        // scipy.stats.chi2.sf reference values.
        #expect(abs(chiSquareSurvival(3.841458820694124, dof: 1) - 0.05) < 1e-9)
        #expect(abs(chiSquareSurvival(11.070497693516351, dof: 5) - 0.05) < 1e-9)
        #expect(abs(chiSquareSurvival(2.0, dof: 10) - 0.9963401531726563) < 1e-9)
        #expect(abs(chiSquareSurvival(40.0, dof: 3) - 1.065509033425585e-08) < 1e-15)
        let same = BalanceShift.compute(before: ["a": 10, "b": 10], after: ["a": 20, "b": 20])
        #expect(same.chiSquare == 0 && same.pValue == 1 && same.totalVariation == 0)
    }

    @Test func labelsExportReproducesTheCommittedLabels() throws {
        let (scratch, repo) = try photoRepository()
        _ = try repo.add([scratch.path + "/images"], labels: LabelImport(path: scratch.path + "/labels.coco.json", format: .coco))
        try repo.commit(message: "labels", author: "ana")
        let exported = try repo.labels(at: "HEAD")
        let original = try LabelFormat.coco.read(from: scratch.path + "/labels.coco.json").labelSet
        #expect(exported.schema.classes.map(\.name) == original.schema.classes.map(\.name))
        #expect(Set(exported.items.map(\.path)) == Set(original.items.map(\.path)))
        for item in original.items {
            let ours = exported.annotations.filter { $0.item == item.path }
            let theirs = original.annotations.filter { $0.item == item.path }
            #expect(ours == theirs, "\(item.path)")
            #expect(exported.items.first { $0.path == item.path }.map { ($0.width, $0.height) } ?? (nil, nil) == (item.width, item.height))
        }
    }
}

@Suite struct LabelCodecTests {
    @Test func handWrittenJSONRoundTrips() throws {
        let annotations = [
            Annotation(id: 7, item: "a", label: .classification(3), source: .annotator("ana \"q\"\n\\"), createdAt: Date(timeIntervalSince1970: 1_767_323_045.125),
                       secondsSpent: 2.5, confidence: 0.875),
            Annotation(item: "a", label: .multilabel([1, 4])),
            Annotation(item: "a", label: .span(TextSpan(start: 2, end: 9), classID: 5), source: .model(name: "bert", version: "1.0")),
            Annotation(item: "a", label: .object(ObjectLabel(classID: 2, box: BoundingBox(x: 0.1, y: 1e-7, width: 1e20, height: 3),
                                                            keypoints: [Keypoint(x: 1, y: 2, visibility: 2)], polygons: [[1, 2, 3, 4, 5, 6.5]],
                                                            mask: RLEMask(height: 2, width: 2, counts: [1, 2, 1]), isCrowd: true, area: 12.25)),
                       source: .consensus),
        ]
        let data = LabelCodec.encode(annotations)
        #expect(try LabelCodec.decode(data, item: "a") == annotations)
        #expect(LabelCodec.encode(annotations) == data)
        _ = try JSONSerialization.jsonObject(with: data)
    }
}
