import CurateCore
import CurateTestSupport
import Foundation
import Testing

/// Reads the photo dataset's sizes from its COCO file (CurateCore cannot decode images itself).
private let photoSizes: [String: (Int, Int)] = {
    guard let set = try? LabelFormat.coco.read(from: TestFixtures.repoPath("datasets/photos/labels.coco.json")).labelSet else { return [:] }
    return Dictionary(uniqueKeysWithValues: set.items.map { ($0.path, ($0.width!, $0.height!)) })
}()

private let photosRoot = TestFixtures.repoPath("datasets/photos")

private func photoOptions() -> LabelReadOptions {
    LabelReadOptions(imagesRoot: photosRoot, imageSize: { path in
        photoSizes[String(path.dropFirst(photosRoot.count + 1))].map { (width: $0.0, height: $0.1) }
    })
}

private func numbers(_ line: Substring) -> [Double] { line.split(separator: " ").compactMap { Double($0) } }

@Suite struct FormatConversionTests {
    let coco = try! LabelFormat.coco.read(from: TestFixtures.repoPath("datasets/photos/labels.coco.json")).labelSet

    @Test func yoloAgreesWithGlobox() throws {
        let scratch = ScratchDirectory()
        try LabelFormat.yolo.write(coco, to: scratch.path + "/yolo")
        let globox = coreFixture("globox/yolo/images")
        for item in coco.items {
            let stem = ((item.path as NSString).lastPathComponent as NSString).deletingPathExtension
            let ours = try String(contentsOfFile: scratch.path + "/yolo/labels/images/\(stem).txt", encoding: .utf8)
                .split(separator: "\n").map(numbers)
            let theirs = ((try? String(contentsOfFile: "\(globox)/\(stem).txt", encoding: .utf8)) ?? "")
                .split(separator: "\n").map(numbers)
            #expect(ours.count == theirs.count, "\(stem)")
            for (a, b) in zip(ours, theirs) {
                #expect(a.count == 5 && b.count == 5)
                #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(stem): \(a) vs \(b)")
                #expect(a.dropFirst().allSatisfy { (0...1).contains($0) })
            }
        }
    }

    @Test func readingGloboxYOLOGivesBackTheCOCOBoxes() throws {
        // globox's YOLO folder lacks data.yaml; copy its files next to a classes.txt as Curate expects.
        let read = try LabelFormat.yolo.read(from: coreFixture("globox/yolo"), options: photoOptions()).labelSet
        #expect(read.schema.classes.map(\.name) == coco.schema.classes.map(\.name))
        let expected = boxesByItem(coco, schemaNames: true)
        let actual = boxesByItem(read, schemaNames: true)
        #expect(Set(actual.keys) == Set(expected.keys))
        for (item, boxes) in expected {
            let got = actual[item] ?? []
            #expect(got.count == boxes.count, "\(item)")
            for (a, b) in zip(got, boxes) {
                #expect(a.0 == b.0)
                #expect(abs(a.1.x - b.1.x) < 1e-4 && abs(a.1.y - b.1.y) < 1e-4 && abs(a.1.width - b.1.width) < 1e-4 && abs(a.1.height - b.1.height) < 1e-4, "\(item): \(a.1) vs \(b.1)")
            }
        }
    }

    @Test func vocDiffersFromGloboxExactlyByTheOneBasedCorner() throws {
        let scratch = ScratchDirectory()
        try LabelFormat.voc.write(coco, to: scratch.path + "/voc")
        func corners(_ path: String) throws -> [[Double]] {
            let xml = try String(contentsOfFile: path, encoding: .utf8)
            var result: [[Double]] = []
            var rest = xml[...]
            while let open = rest.range(of: "<bndbox>"), let close = rest.range(of: "</bndbox>") {
                let box = rest[open.upperBound..<close.lowerBound]
                result.append(["xmin", "ymin", "xmax", "ymax"].map { key in
                    let a = box.range(of: "<\(key)>")!, b = box.range(of: "</\(key)>")!
                    return Double(box[a.upperBound..<b.lowerBound].trimmingCharacters(in: .whitespaces))!
                })
                rest = rest[close.upperBound...]
            }
            return result
        }
        var compared = 0
        for item in coco.items {
            let stem = ((item.path as NSString).lastPathComponent as NSString).deletingPathExtension
            let ours = try corners(scratch.path + "/voc/images/\(stem).xml")
            let theirs = try corners(coreFixture("globox/voc/images/\(stem).xml"))
            #expect(ours.count == theirs.count)
            for (a, b) in zip(ours, theirs) {
                // globox writes continuous corners (xmin = x); Curate the VOC devkit's 1-based inclusive ones (xmin = x + 1).
                #expect(a[0] == b[0] + 1 && a[1] == b[1] + 1 && a[2] == b[2] && a[3] == b[3], "\(stem): \(a) vs \(b)")
                compared += 1
            }
        }
        #expect(compared == 38)
        // Curate's own VOC round-trip is exact.
        let ours = try LabelFormat.voc.read(from: scratch.path + "/voc").labelSet
        #expect(boxesByItem(ours, schemaNames: true).mapValues { $0.map(\.1) } == boxesByItem(coco, schemaNames: true).mapValues { $0.map(\.1) })
    }

    @Test func vocCornerArithmetic() throws {
        let scratch = ScratchDirectory()
        let set = LabelSet(schema: LabelSchema(classNames: ["cat"]), items: [Item(path: "a.png", width: 10, height: 10)],
                           annotations: [Annotation(item: "a.png", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 0, y: 0, width: 10, height: 4))))])
        try LabelFormat.voc.write(set, to: scratch.path + "/voc")
        let xml = try String(contentsOfFile: scratch.path + "/voc/a.xml", encoding: .utf8)
        #expect(xml.contains("<xmin>1</xmin>") && xml.contains("<xmax>10</xmax>") && xml.contains("<ymin>1</ymin>") && xml.contains("<ymax>4</ymax>"))
    }

    @Test func cocoYOLOVOCCOCOChainKeepsBoxes() throws {
        let scratch = ScratchDirectory()
        try LabelFormat.yolo.write(coco, to: scratch.path + "/yolo")
        let fromYOLO = try LabelFormat.yolo.read(from: scratch.path + "/yolo", options: photoOptions()).labelSet
        try LabelFormat.voc.write(fromYOLO, to: scratch.path + "/voc")
        let fromVOC = try LabelFormat.voc.read(from: scratch.path + "/voc", options: photoOptions()).labelSet
        try LabelFormat.coco.write(fromVOC, to: scratch.path + "/back.json")
        let back = try LabelFormat.coco.read(from: scratch.path + "/back.json").labelSet
        let start = boxesByItem(coco, schemaNames: true), end = boxesByItem(back, schemaNames: true)
        #expect(Set(start.keys) == Set(end.keys))
        for (item, boxes) in start {
            for (a, b) in zip(boxes, end[item] ?? []) {
                #expect(a.0 == b.0)
                // YOLO keeps 6 decimals of a normalised coordinate: at most ~0.001 px on these sizes.
                #expect(abs(a.1.x - b.1.x) < 2e-3 && abs(a.1.maxX - b.1.maxX) < 2e-3 && abs(a.1.y - b.1.y) < 2e-3 && abs(a.1.maxY - b.1.maxY) < 2e-3)
            }
        }
    }

    @Test func yoloOutputIsAlwaysWithinUnitRange() throws {
        let scratch = ScratchDirectory()
        // A box overhanging the image by a rounding hair is clipped, never written as 1.0000001.
        let set = LabelSet(schema: LabelSchema(classNames: ["cat"]), items: [Item(path: "a.png", width: 3, height: 3)],
                           annotations: [Annotation(item: "a.png", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: -0.0004, y: 1, width: 3.0008, height: 2.0004))))])
        try LabelFormat.yolo.write(set, to: scratch.path + "/yolo")
        let line = try String(contentsOfFile: scratch.path + "/yolo/labels/a.txt", encoding: .utf8)
        #expect(line == "0 0.500000 0.666667 1.000000 0.666667\n")
        #expect(try String(contentsOfFile: scratch.path + "/yolo/data.yaml", encoding: .utf8).contains("names:\n  - \"cat\""))
    }

    @Test func yoloDataYAMLWithAMap() throws {
        let scratch = ScratchDirectory()
        _ = scratch.write("ds/a.png", "x")
        _ = scratch.write("yolo/data.yaml", "nc: 2\nnames:\n  0: cat\n  1: dog\n")
        _ = scratch.write("yolo/labels/a.txt", "1 0.5 0.5 0.5 0.5\n")
        let set = try LabelFormat.yolo.read(from: scratch.path + "/yolo", options: LabelReadOptions(imagesRoot: scratch.path + "/ds", imageSize: { _ in (width: 40, height: 20) })).labelSet
        #expect(set.schema.classes.map(\.name) == ["cat", "dog"])
        #expect(set.annotations.first?.label == .object(ObjectLabel(classID: 1, box: BoundingBox(x: 10, y: 5, width: 20, height: 10))))
    }

    @Test func unrepresentableLabelsAreRefused() {
        let set = LabelSet(schema: LabelSchema(classNames: ["cat"]), items: [Item(path: "a.png")],
                           annotations: [Annotation(item: "a.png", label: .classification(0))])
        let scratch = ScratchDirectory()
        #expect { try LabelFormat.coco.write(set, to: scratch.file("a.json")) } throws: { ($0 as? LabelError)?.code == .unrepresentable }
        #expect { try LabelFormat.yolo.write(set, to: scratch.file("y")) } throws: { ($0 as? LabelError)?.description.contains("has no image size") == true }
    }
}

/// (class name, box) per item path, in annotation order.
func boxesByItem(_ set: LabelSet, schemaNames: Bool) -> [String: [(String, BoundingBox)]] {
    var result: [String: [(String, BoundingBox)]] = [:]
    for item in set.items { result[item.path] = [] }
    for a in set.annotations {
        if case .object(let o) = a.label, let box = o.box { result[a.item, default: []].append((set.schema.name(of: o.classID), box)) }
    }
    return result
}

@Suite struct CSVAndJSONLTests {
    @Test func digitsCSV() throws {
        let set = try LabelFormat.csv.read(from: TestFixtures.repoPath("datasets/digits/labels.csv")).labelSet
        #expect(set.items.count == 1797)
        #expect(set.schema.classes.map(\.name) == (0...9).map(String.init))
        #expect(set.classCounts()["0"] == 178)
        #expect(set.items.first?.path == "images/0/0000.png")
    }

    @Test func csvQuotingMultilabelAndSources() throws {
        let scratch = ScratchDirectory()
        let text = "path,label,annotator,created,seconds\n\"a, b.png\",cat|dog,ana,2026-01-02T03:04:05Z,2.5\nc.png,,,,\nd.png,\"dog\",bo,,\n"
        let set = try LabelFormat.csv.read(from: scratch.write("l.csv", text)).labelSet
        #expect(set.items.map(\.path) == ["a, b.png", "c.png", "d.png"])
        #expect(set.annotations.count == 2)
        #expect(set.annotations[0].label == .multilabel([0, 1]))
        #expect(set.annotations[0].source == .annotator("ana"))
        #expect(set.annotations[0].secondsSpent == 2.5)
        #expect(set.annotations[0].createdAt == Date(timeIntervalSince1970: 1_767_323_045))
        // Round-trip through CSV keeps everything.
        try LabelFormat.csv.write(set, to: scratch.file("out.csv"))
        let again = try LabelFormat.csv.read(from: scratch.file("out.csv")).labelSet
        #expect(again == set)
    }

    @Test func jsonlRoundTripKeepsEverything() throws {
        let scratch = ScratchDirectory()
        var set = try LabelFormat.coco.read(from: coreFixture("rich.coco.json")).labelSet
        set.annotations[0].source = .annotator("ana")
        set.annotations[0].createdAt = Date(timeIntervalSince1970: 1_767_323_045.25)
        set.annotations[0].secondsSpent = 3.5
        set.annotations[1].source = .model(name: "resnet", version: "1.2")
        set.annotations[1].confidence = 0.875
        set.annotations.append(Annotation(item: "a.png", label: .classification(3), source: .consensus))
        set.annotations.append(Annotation(item: "sub/b.jpg", label: .multilabel([3, 5])))
        set.items.append(Item(path: "notes.txt"))
        set.annotations.append(Annotation(item: "notes.txt", label: .span(TextSpan(start: 4, end: 9), classID: 5)))
        try LabelFormat.jsonl.write(set, to: scratch.file("l.jsonl"))
        var back = try LabelFormat.jsonl.read(from: scratch.file("l.jsonl")).labelSet
        // sourceID is COCO-specific and not part of JSONL.
        back.items = back.items.enumerated().map { var i = $0.element; i.sourceID = set.items[$0.offset].sourceID; return i }
        #expect(back.schema == set.schema)
        #expect(back.items == set.items)
        // JSONL stores annotations item by item.
        let byItem = set.items.flatMap { item in set.annotations.filter { $0.item == item.path } }
        #expect(back.annotations == byItem)
    }

    @Test func datasetPaths() {
        #expect(DatasetPath.normalize("images/./a.png") == "images/a.png")
        #expect(DatasetPath.normalize("images//x/../a.png") == "images/a.png")
        #expect(DatasetPath.normalize("images\\a.png") == "images/a.png")
        #expect(DatasetPath.normalize("../a.png") == nil)
        #expect(DatasetPath.normalize("a/../../b.png") == nil)
        #expect(DatasetPath.normalize("/etc/passwd") == nil)
        #expect(DatasetPath.normalize("C:/x.png") == nil)
        #expect(DatasetPath.normalize("") == nil)
    }

    @Test func sourcesParseAndPrint() {
        for source in [AnnotationSource.annotator("ana"), .model(name: "res@net", version: "2"), .consensus, .imported] {
            #expect(AnnotationSource(source.description) == source)
        }
        #expect(AnnotationSource("model:nover") == nil)
    }
}

@Suite struct ItemTests {
    @Test func mediaTypesFromExtensions() {
        #expect(Item.mediaType(forPath: "a/b.PNG") == "image/png")
        #expect(Item.mediaType(forPath: "x.jpeg") == "image/jpeg")
        #expect(Item.mediaType(forPath: "x.JPG") == "image/jpeg")
        #expect(Item.mediaType(forPath: "notes.txt") == "text/plain")
        #expect(Item.mediaType(forPath: "png") == nil)
        #expect(Item.mediaType(forPath: "dir.png/file") == nil)
        #expect(Item.mediaType(forPath: "a.bin") == nil)
    }
}
