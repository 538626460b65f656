import CurateCore
import CurateImaging
@testable import CurateQuality
import CurateTestSupport
import Foundation
import Testing

/// Quality's checks, duplicates, gates and box issues, called as a library (no CLI).
@Suite struct ValidationTests {
    static let schema = LabelSchema(classNames: ["cat", "dog"])

    func box(_ item: String, _ c: Int, _ x: Double, _ y: Double, _ w: Double, _ h: Double, by: String = "ana") -> Annotation {
        Annotation(item: item, label: .object(ObjectLabel(classID: c, box: BoundingBox(x: x, y: y, width: w, height: h))), source: .annotator(by))
    }

    /// Each geometry and schema problem is found once, with the item and what is wrong.
    @Test func checksFindEachProblem() {
        var set = LabelSet(schema: Self.schema, items: ["a.png", "b.png", "c.png"].map { Item(path: $0, width: 100, height: 50) })
        set.annotations = [
            box("a.png", 0, 10, 10, 0, 20),            // no area
            box("a.png", 1, 10, 10, 0.5, 20),          // under 1 px
            box("a.png", 0, 90, 10, 20, 20),           // leaves the 100 × 50 image
            box("b.png", 0, 10, 10, 20, 20),
            box("b.png", 0, 10, 10, 20, 20.1),         // duplicate (IoU > 0.95, same class and source)
            Annotation(item: "b.png", label: .classification(7), source: .annotator("ana")),
        ]
        let kinds = LabelChecks.run(set).map(\.kind)
        #expect(kinds.filter { $0 == .emptyBox }.count == 1 && kinds.filter { $0 == .degenerateBox }.count == 1)
        #expect(kinds.filter { $0 == .outOfBounds }.count == 1 && kinds.filter { $0 == .duplicateBox }.count == 1)
        #expect(kinds.filter { $0 == .unknownClass }.count == 1)
        #expect(LabelChecks.run(set).contains(Finding(.unlabeled, "c.png", "no labels")))
    }

    /// Identical bytes are exact duplicates; labeled differently they also conflict. A missing file is reported
    /// by --decode, not taken for a duplicate.
    @Test func duplicatesAndDecodeFailures() throws {
        let pixels = PixelBuffer(width: 16, height: 16, format: .rgb8, filledWith: 200)
        let png = Data(try ImageEncoder().encode(pixels, as: .png))
        var set = LabelSet(schema: Self.schema, items: ["a.png", "b.png", "broken.png", "gone.png"].map { Item(path: $0) })
        set.annotations = [Annotation(item: "a.png", label: .classification(0)), Annotation(item: "b.png", label: .classification(1))]
        let images = [ImageBytes(path: "a.png", data: png), ImageBytes(path: "b.png", data: png), ImageBytes(path: "broken.png", data: Data("not a png".utf8)),
                      ImageBytes(path: "gone.png", data: nil, problem: "gone.png: cannot read")]
        var options = ValidationOptions()
        options.decode = true
        options.duplicates = true
        let report = try Validation.run(DatasetInput(labels: set, name: "test") { _, _ in images }, options: options)
        let found = report.findings.map { "\($0.kind) \($0.item): \($0.message)" }
        #expect(found.contains("exact duplicate b.png: same as a.png (identical bytes)"), "\(found)")
        #expect(found.contains("conflicting duplicate b.png: labeled dog, its duplicate a.png cat"), "\(found)")
        #expect(found.contains("undecodable gone.png: gone.png: cannot read"), "\(found)")
        #expect(found.contains { $0.hasPrefix("undecodable broken.png: ") }, "\(found)")
        #expect(!found.contains { $0.contains("near duplicate") }, "\(found)")
        #expect(report.metrics["issues"] == Double(report.findings.count) && report.metrics["issues%"] == Double(report.findings.count) / 4)
    }

    /// Gates name what fails with the measured value; a gate on a figure not measured is an error, not a pass.
    @Test func gatesFailWithTheirValues() throws {
        let gates = try Gates("alpha<0.6, issues>5%")
        #expect(try gates.failures(["alpha": 0.7, "issues": 3, "issues%": 0.03]).isEmpty)
        #expect(try gates.failures(["alpha": 0.41, "issues": 9, "issues%": 0.09]) == ["alpha is 0.41, the gate fails at alpha<0.6", "issues is 9%, the gate fails at issues>5%"])
        #expect(throws: GateFailure(["alpha is 0.41, the gate fails at alpha<0.6"])) { try checkGates(try Gates("alpha<0.6"), ["alpha": 0.41]) }
        #expect(GateFailure(["x"]).kind == .invalidData && GateFailure(["x", "y"]).message == "gate failed: x; y")
        #expect(throws: QualityError.self) { try checkGates(try Gates("spam>0"), ["alpha": 1]) }
        #expect(throws: QualityError.self) { _ = try Gates("alpha") }
        try checkGates(nil, [:])
    }

    /// Labeled boxes a model box supports, unsupported boxes, wrong classes and missing labels.
    @Test func boxIssuesMatchByIoUAndClass() throws {
        let scratch = ScratchDirectory()
        scratch.write("dets.jsonl", """
            {"item": "a.png", "boxes": [{"class": "cat", "box": [10, 10, 20, 20], "score": 0.9}, {"class": "dog", "box": [60, 10, 20, 20], "score": 0.8}]}
            {"item": "b.png", "boxes": [{"class": "dog", "box": [10, 10, 20, 20], "score": 0.9}, {"class": "cat", "box": [50, 20, 10, 10], "score": 0.2}]}

            """)
        var set = LabelSet(schema: Self.schema, items: ["a.png", "b.png"].map { Item(path: $0, width: 100, height: 50) })
        set.annotations = [box("a.png", 0, 11, 10, 20, 20), box("b.png", 0, 10, 10, 20, 20), box("b.png", 1, 70, 30, 10, 10)]
        let report = BoxIssueReport(labels: set, predictions: try BoxPredictions.load(scratch.path + "/dets.jsonl", schema: Self.schema))
        let entries = report.entries.map { "\($0.kind.rawValue) \($0.item) \(Self.schema.name(of: $0.classID))" }.sorted()
        #expect(entries == ["missing label a.png dog", "unsupported box b.png dog", "wrong class b.png cat"], "\(entries)")
        #expect(report.labeledBoxes == 3 && report.examinedItems == 2)
    }
}
