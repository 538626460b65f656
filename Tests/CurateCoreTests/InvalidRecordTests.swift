import CurateCore
import CurateTestSupport
import Foundation
import Testing

/// Every invalid-record case: the error names the file and the record (line or JSON path).
@Suite struct InvalidRecordTests {
    let scratch = ScratchDirectory()

    func coco(images: String, annotations: String, categories: String = #"[{"id": 1, "name": "cat"}]"#) -> String {
        scratch.write("labels.json", #"{"images": \#(images), "annotations": \#(annotations), "categories": \#(categories)}"#)
    }

    let oneImage = #"[{"id": 1, "file_name": "a.png", "width": 10, "height": 10}]"#

    func expectFailure(_ format: LabelFormat, _ path: String, options: LabelReadOptions = LabelReadOptions(),
                       _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try format.read(from: path, options: options)
            Issue.record("expected an error containing \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description.contains(expected), "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix(path) || error.issue.file.hasPrefix(scratch.path), sourceLocation: sourceLocation)
        }
    }

    @Test func cocoUnknownClass() {
        let path = coco(images: oneImage, annotations: #"[{"id": 1, "image_id": 1, "category_id": 4, "bbox": [1, 1, 2, 2]}]"#)
        expectFailure(.coco, path, "\(path): $.annotations[0]: unknown category_id 4")
    }

    @Test func cocoBoxOutsideImage() {
        let path = coco(images: oneImage, annotations: #"[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 6, 2]}]"#)
        expectFailure(.coco, path, "\(path): $.annotations[0]: box [5, 5, 11, 7] extends outside the 10x10 image")
    }

    @Test func cocoNegativeSize() {
        let path = coco(images: oneImage, annotations: #"[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, -1, 2]}]"#)
        expectFailure(.coco, path, "$.annotations[0]: box has negative size -1x2")
    }

    @Test func cocoNaNIsNotJSON() {
        // Python's json.dump writes NaN bare; it is not JSON, and the error says where.
        let path = coco(images: oneImage, annotations: #"[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [NaN, 5, 1, 2]}]"#)
        expectFailure(.coco, path, "\(path): not valid JSON; line 1 has NaN or Infinity, which JSON does not allow")
    }

    @Test func cocoWrongType() {
        let path = coco(images: oneImage, annotations: #"[{"id": 1, "image_id": "one", "category_id": 1}]"#)
        expectFailure(.coco, path, "$.annotations[0].image_id: expected an integer")
    }

    @Test func cocoDuplicateIDs() {
        let images = #"[{"id": 1, "file_name": "a.png", "width": 10, "height": 10}, {"id": 1, "file_name": "b.png", "width": 10, "height": 10}]"#
        expectFailure(.coco, coco(images: images, annotations: "[]"), "$.images[1]: duplicate image id 1")
        let annotations = #"[{"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}, {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}]"#
        expectFailure(.coco, coco(images: oneImage, annotations: annotations), "$.annotations[1]: duplicate annotation id 3")
    }

    @Test func cocoPathEscapingTheRoot() {
        let images = #"[{"id": 1, "file_name": "../../etc/passwd", "width": 10, "height": 10}]"#
        expectFailure(.coco, coco(images: images, annotations: "[]"), "$.images[0]: path '../../etc/passwd' escapes the dataset root")
        let absolute = #"[{"id": 1, "file_name": "/etc/passwd", "width": 10, "height": 10}]"#
        expectFailure(.coco, coco(images: absolute, annotations: "[]"), "escapes the dataset root")
    }

    @Test func cocoMissingImage() {
        let path = coco(images: oneImage, annotations: "[]")
        expectFailure(.coco, path, options: LabelReadOptions(imagesRoot: scratch.path), "$.images[0]: missing image 'a.png'")
    }

    @Test func lenientSkipsAndReports() throws {
        let annotations = #"[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}, {"id": 2, "image_id": 1, "category_id": 9, "bbox": [1, 1, 2, 2]}, {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 20, 2]}]"#
        let path = coco(images: oneImage, annotations: annotations)
        let result = try LabelFormat.coco.read(from: path, options: LabelReadOptions(lenient: true))
        #expect(result.labelSet.annotations.map(\.id) == [1])
        #expect(result.skipped.map(\.location) == ["$.annotations[1]", "$.annotations[2]"])
        #expect(result.skipped.allSatisfy { $0.file == path })
    }

    @Test func csvErrorsNameTheLine() {
        let schema = LabelSchema(classNames: ["cat", "dog"])
        var path = scratch.write("l.csv", "path,label\na.png,cat\nb.png,dgo\n")
        expectFailure(.csv, path, options: LabelReadOptions(schema: schema), "\(path):3: unknown class 'dgo' (known: cat, dog)")
        path = scratch.write("l2.csv", "path,label\n../x.png,cat\n")
        expectFailure(.csv, path, "\(path):2: path '../x.png' escapes the dataset root")
        path = scratch.write("l3.csv", "path,label\na.png,cat\na.png\n")
        expectFailure(.csv, path, "\(path):3: has 1 fields, the header has 2")
        path = scratch.write("l4.csv", "file,class\na.png,cat\n")
        expectFailure(.csv, path, "\(path):1: header must name the columns 'path' and 'label'")
        path = scratch.write("l5.csv", "path,label,confidence\na.png,cat,NaN\n")
        expectFailure(.csv, path, "\(path):2: confidence 'NaN' must be a finite non-negative number")
        path = scratch.write("l6.csv", "path,label\n\"a.png,cat\n")
        expectFailure(.csv, path, "\(path):2: unterminated quoted field")
        path = scratch.write("l7.csv", "path,label\na.png,cat\n")
        expectFailure(.csv, path, options: LabelReadOptions(imagesRoot: scratch.path), "\(path):2: missing image 'a.png'")
    }

    @Test func jsonlErrorsNameTheLine() {
        var path = scratch.write("l.jsonl", #"{"path": "a.png", "width": 10, "height": 10, "labels": [{"class": "cat", "box": [1, 1, 2, 2]}]}"# + "\n" + #"{"path": "b.png", "width": 10, "height": 10, "labels": [{"class": "cat", "box": [1, 1, 2, 20]}]}"# + "\n")
        expectFailure(.jsonl, path, "\(path):2: box [1, 1, 3, 21] extends outside the 10x10 image")
        path = scratch.write("l2.jsonl", #"{"path": "a.png", "labels": [{"class": "cat", "box": [1, 1, 2]}]}"# + "\n")
        expectFailure(.jsonl, path, "\(path):1: labels[0]: box has 3 numbers")
        path = scratch.write("l3.jsonl", #"{"path": "a.png"}"# + "\n" + #"{"path": "a.png"}"# + "\n")
        expectFailure(.jsonl, path, "\(path):2: duplicate item 'a.png'")
        path = scratch.write("l4.jsonl", #"{"path": "a.png", "labels": [{"class": "cat"}]}"# + "\n")
        expectFailure(.jsonl, path, options: LabelReadOptions(schema: LabelSchema(classNames: ["dog"])), "\(path):1: unknown class 'cat' (known: dog)")
        path = scratch.write("l5.jsonl", "{\"path\": \"a.png\",\n")
        expectFailure(.jsonl, path, "\(path):1: not valid JSON")
    }

    @Test func yoloErrorsNameTheLine() throws {
        let root = scratch.path + "/ds"
        _ = scratch.write("ds/images/a.png", "x")
        _ = scratch.write("ds/yolo/classes.txt", "cat\ndog\n")
        let label = scratch.write("ds/yolo/labels/images/a.txt", "0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.1 0.1\n")
        let options = LabelReadOptions(imagesRoot: root, imageSize: { _ in (width: 100, height: 50) })
        expectFailure(.yolo, root + "/yolo", options: options, "\(label):2: class index 2 is out of range (2 classes)")
        _ = scratch.write("ds/yolo/labels/images/a.txt", "0 0.5 0.5 0.2 0.2\n1 0.95 0.5 0.2 0.1\n")
        expectFailure(.yolo, root + "/yolo", options: options, "\(label):2: box extends outside [0, 1]")
        _ = scratch.write("ds/yolo/labels/images/a.txt", "0 nan 0.5 0.2 0.2\n")
        expectFailure(.yolo, root + "/yolo", options: options, "\(label):1: coordinate is NaN or infinite")
        _ = scratch.write("ds/yolo/labels/images/a.txt", "0 0.5 0.5 -0.2 0.2\n")
        expectFailure(.yolo, root + "/yolo", options: options, "\(label):1: box has negative size")
        _ = scratch.write("ds/yolo/labels/images/b.txt", "0 0.5 0.5 0.2 0.2\n")
        _ = scratch.write("ds/yolo/labels/images/a.txt", "")
        expectFailure(.yolo, root + "/yolo", options: options, "no image for 'images/b.txt'")
    }

    @Test func vocErrorsNameTheLine() {
        let xml = """
            <annotation>
              <filename>a.png</filename>
              <size><width>10</width><height>10</height><depth>3</depth></size>
              <object>
                <name>cat</name>
                <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>12</xmax><ymax>5</ymax></bndbox>
              </object>
            </annotation>
            """
        let path = scratch.write("voc/a.xml", xml)
        expectFailure(.voc, scratch.path + "/voc", "\(path):4: box [0, 0, 12, 5] extends outside the 10x10 image")
        let broken = scratch.write("voc2/a.xml", "<annotation><filename>a.png</filename>\n<object>\n</annotation>")
        expectFailure(.voc, scratch.path + "/voc2", "\(broken):3: not valid XML")
        let unknown = scratch.write("voc3/a.xml", xml.replacingOccurrences(of: "<name>cat</name>", with: "<name>dgo</name>"))
        expectFailure(.voc, scratch.path + "/voc3", options: LabelReadOptions(schema: LabelSchema(classNames: ["cat"])), "\(unknown):4: unknown class 'dgo' (known: cat)")
    }

    @Test func missingFilesAreNotFound() {
        #expect {
            try LabelFormat.coco.read(from: scratch.path + "/nope.json")
        } throws: { ($0 as? LabelError)?.code == .notFound }
        #expect {
            try LabelFormat.yolo.read(from: scratch.path, options: LabelReadOptions(imagesRoot: scratch.path))
        } throws: { ($0 as? LabelError)?.description.contains("no classes.txt or data.yaml") == true }
    }
}
