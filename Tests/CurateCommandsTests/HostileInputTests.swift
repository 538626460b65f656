import CurateTestSupport
import Foundation
import Testing

/// The attacks of the hostile-input round, each reproduced through the CLI: the answer is always a one-line error
/// naming the file and the problem, the documented exit code, bounded memory, and nothing changed.
@Suite struct HostileInputTests {
    /// A `.npy` with the given header text and `payload` bytes of data.
    static func npy(_ header: String, payload: Int = 80) -> Data {
        var text = header
        text += String(repeating: " ", count: (64 - (10 + text.utf8.count + 1) % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count & 0xff), UInt8(text.utf8.count >> 8)]
        bytes += Array(text.utf8) + [UInt8](repeating: 0, count: payload)
        return Data(bytes)
    }

    func digits(_ count: Int) throws -> (ScratchDirectory, [(path: String, label: String)]) {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(count)
        scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined())
        scratch.write("ids.txt", digits.map(\.path).joined(separator: "\n") + "\n")
        return (scratch, digits)
    }

    /// Attack 6: negative or overflowing `.npy` shapes crashed issues, select and route with SIGILL.
    @Test(arguments: ["(-1797, 10)", "(4611686018427387904, 4)", "(4294967296, 4294967296)", "(10, abc)"])
    func npyShapesAreChecked(_ shape: String) throws {
        let (scratch, _) = try digits(10)
        try Self.npy("{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }").write(to: URL(fileURLWithPath: scratch.path + "/probs.npy"))
        let issues = try CLI.run(["issues", "--predictions", "probs.npy", "--ids", "ids.txt", "--labels", "labels.csv", "--format", "csv"], in: scratch.path)
        #expect(issues.exitCode == 65, "\(issues)")
        #expect(issues.stderr.hasPrefix("error: probs.npy: ") && issues.stderr.split(separator: "\n").count == 1, "\(issues.stderr)")
        #expect(issues.stderr.contains("shape") || issues.stderr.contains("truncated"))
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["queue", "create", "human", "--empty"]] {
            _ = try CLI.run(args, in: scratch.path)
        }
        let select = try CLI.run(["select", "--strategy", "margin", "--budget", "2", "--predictions", "probs.npy", "--ids", "ids.txt"], in: scratch.path)
        #expect(select.exitCode == 65 && select.stderr.contains("probs.npy"), "\(select)")
        let route = try CLI.run(["route", "--predictions", "probs.npy", "--ids", "ids.txt", "--model", "m@1", "--dry-run"], in: scratch.path)
        #expect(route.exitCode == 65 && route.stderr.contains("probs.npy"), "\(route)")
    }

    /// Attack 7: a VOC file nested 50,000 deep (350 KB) crashed with a stack overflow.
    @Test func deeplyNestedVOCIsRefused() throws {
        let scratch = ScratchDirectory()
        let depth = 50_000
        scratch.write("voc/a.xml", "<annotation>" + String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth) + "</annotation>")
        let result = try CLI.run(["labels", "convert", "voc", "--from", "voc", "--to", "jsonl", "--out", "out.jsonl"], in: scratch.path)
        #expect(result.exitCode == 65, "\(result)")
        #expect(result.stderr.contains("a.xml") && result.stderr.contains("nest deeper than 64 levels"), "\(result.stderr)")
    }

    /// Found by scripts/fuzz voc: Foundation's XMLParser trapped on an element name that is not valid UTF-8.
    @Test func vocWithInvalidUTF8IsRefused() throws {
        let scratch = ScratchDirectory()
        let input = try Data(contentsOf: URL(fileURLWithPath: TestFixtures.repoPath("Fuzz/regressions/voc/crash-84815f443a7a56eace4b92b4f3f503c1880314c6")))
        try FileManager.default.createDirectory(atPath: scratch.path + "/voc", withIntermediateDirectories: true)
        try input.write(to: URL(fileURLWithPath: scratch.path + "/voc/a.xml"))
        let result = try CLI.run(["labels", "convert", "voc", "--from", "voc", "--to", "jsonl", "--out", "out.jsonl"], in: scratch.path)
        #expect(result.exitCode == 65 && result.stderr.contains("a.xml:1: not valid UTF-8 text"), "\(result)")
    }

    /// Found by scripts/fuzz coco: a keypoint visibility of 1e300 trapped converting to Int.
    @Test func hugeKeypointVisibilityIsRefused() throws {
        let scratch = ScratchDirectory()
        let input = try Data(contentsOf: URL(fileURLWithPath: TestFixtures.repoPath("Fuzz/regressions/coco/crash-cb32a66f855dbe508599b9f5686e5e63f78ede73")))
        try input.write(to: URL(fileURLWithPath: scratch.path + "/a.json"))
        let coco = try CLI.run(["labels", "convert", "a.json", "--from", "coco", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(coco.exitCode == 65 && coco.stderr.contains("keypoints: keypoint 0 has visibility"), "\(coco)")
        scratch.write("a.jsonl", #"{"path": "a.png", "labels": [{"class": "p", "keypoints": [[1, 2, 1e300]]}]}"# + "\n")
        let jsonl = try CLI.run(["labels", "convert", "a.jsonl", "--from", "jsonl", "--to", "coco", "--out", "o.json"], in: scratch.path)
        #expect(jsonl.exitCode == 65 && jsonl.stderr.contains("keypoint 0 has visibility 1e+300 (must be 0, 1 or 2)"), "\(jsonl)")
    }

    /// Attack 8: YAML aliases expanded without limit (743 bytes → 5.9 GB, or 100,000 transforms per image).
    @Test func yamlAliasBombsAreRefused() throws {
        let scratch = ScratchDirectory()
        var lines = ["transforms:", "  - OneOf:", "      transforms:", "        - &a {HorizontalFlip: {p: 0.5}}"]
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h"] {
            lines.append("        - &\(name) {OneOf: {transforms: [*\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous)]}}")
            previous = name
        }
        scratch.write("bomb.yaml", lines.joined(separator: "\n") + "\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/bomb.yaml")).count < 1200)
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
        let augment = try CLI.run(["augment", "--pipeline", "bomb.yaml", "--labels", "labels.coco.json", "--format", "coco", "--out", "out"], in: scratch.path)
        #expect(augment.exitCode == 65, "\(augment)")
        #expect(augment.stderr.contains("bomb.yaml: has more than 10000 YAML nodes once its aliases are expanded"), "\(augment.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out"))
        // The same bound holds for workflows and routing policies.
        let workflow = "name: w\nx: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + (1...6).map { "x\($0): &a\($0) [" + Array(repeating: $0 == 1 ? "*a" : "*a\($0 - 1)", count: 10).joined(separator: ", ") + "]" }.joined(separator: "\n") + "\nsteps: []\n"
        scratch.write("flow.yaml", workflow)
        #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
        let run = try CLI.run(["run", "flow.yaml"], in: scratch.path)
        #expect(run.exitCode == 65 && run.stderr.contains("more than 10000 YAML nodes"), "\(run.stderr)")
    }

    /// Attack 9: `inspect /dev/zero` read until the kernel killed it; a 44-byte PNG declaring a 2 GB tEXt chunk took 2.1 GB.
    @Test func nonRegularFilesAndHugeChunksAreRefused() throws {
        let scratch = ScratchDirectory()
        let zero = try CLI.run(["inspect", "/dev/zero"], in: scratch.path)
        #expect(zero.exitCode == 65 && zero.stderr == "error: /dev/zero: not a regular file (a device, pipe or socket); give a file\n", "\(zero.stderr)")
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let ihdr: [UInt8] = Array("IHDR".utf8) + [0, 0, 0, 4, 0, 0, 0, 4, 8, 2, 0, 0, 0]
        png += [0, 0, 0, 13] + ihdr + crc32(ihdr)
        png += [0x7F, 0xFF, 0xFF, 0xF0] + Array("tEXt".utf8) + Array("abcdefgh".utf8)
        try Data(png).write(to: URL(fileURLWithPath: scratch.path + "/text.png"))
        let chunk = try CLI.run(["inspect", "text.png"], in: scratch.path)
        #expect(chunk.exitCode == 65 && chunk.stderr.contains("text.png: truncated PNG: chunk 'tEXt' at byte 33 declares 2147483632 bytes"), "\(chunk.stderr)")
        #expect(mkfifo(scratch.path + "/pipe.csv", 0o644) == 0)
        let fifo = try CLI.run(["labels", "convert", "pipe.csv", "--from", "csv", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(fifo.exitCode == 65 && fifo.stderr.contains("pipe.csv: not a regular file"), "\(fifo.stderr)")
    }

    /// Attack 10: an error written to an unwritable stderr trapped; output to a full disk exited 0.
    @Test func fullStreamsNeverTrap() throws {
        let scratch = ScratchDirectory()
        #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
        let shell = { (command: String) throws -> Int32 in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(try shell("'\(CLI.executable)' show nosuchrev 2>/dev/full") == 66)
        #expect(try shell("'\(CLI.executable)' status >/dev/full") == 1)
        #expect(try shell("'\(CLI.executable)' status 2>&1 >/dev/full | grep -q 'cannot write to standard output: No space left on device'") == 0)
    }

    /// Attack 15: labels that should be refused were accepted.
    @Test func badLabelsAreRefused() throws {
        let (scratch, digits) = try digits(3)
        let a = digits[0].path, b = digits[1].path
        var bytes = Data("path,label\n\(a),ca".utf8)
        bytes.append(contentsOf: [0xFF, 0xFE])
        bytes.append(Data("t\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: scratch.path + "/utf8.csv"))
        let utf8 = try CLI.run(["labels", "convert", "utf8.csv", "--from", "csv", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(utf8.exitCode == 65 && utf8.stderr == "error: utf8.csv:2: not valid UTF-8 text (save the file as UTF-8)\n", "\(utf8.stderr)")
        scratch.write("newline.jsonl", #"{"path": "\#(a)", "labels": [{"class": "a\nb"}]}"# + "\n")
        let newline = try CLI.run(["labels", "convert", "newline.jsonl", "--from", "jsonl", "--to", "csv", "--out", "o.csv"], in: scratch.path)
        #expect(newline.exitCode == 65 && newline.stderr.contains(#"class name 'a\u{a}b' contains a control character"#), "\(newline.stderr)")
        scratch.write("dup.csv", "path,label\n\(a),1\n\(a),2\n")
        let dup = try CLI.run(["labels", "convert", "dup.csv", "--from", "csv", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(dup.exitCode == 65 && dup.stderr.contains("dup.csv:3: duplicate row for '\(a)'"), "\(dup.stderr)")
        let coco = #"{"images": [{"id": 1, "file_name": "\#(a)", "width": 8, "height": 8}], "categories": [{"id": 1, "name": "one"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1}]}"#
        scratch.write("nobox.json", coco)
        let nobox = try CLI.run(["labels", "convert", "nobox.json", "--from", "coco", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(nobox.exitCode == 65 && nobox.stderr.contains("$.annotations[0]: has no bbox, segmentation or keypoints"), "\(nobox.stderr)")
        scratch.write("dupcat.json", #"{"images": [], "categories": [{"id": 1, "name": "one"}, {"id": 2, "name": "one"}], "annotations": []}"#)
        let dupcat = try CLI.run(["labels", "convert", "dupcat.json", "--from", "coco", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(dupcat.exitCode == 65 && dupcat.stderr.contains("duplicate category name 'one' (ids 1 and 2)"), "\(dupcat.stderr)")
        scratch.write("big.json", #"{"images": [{"id": 1000000000000000000000000000000, "file_name": "\#(b)"}], "categories": [], "annotations": []}"#)
        let big = try CLI.run(["labels", "convert", "big.json", "--from", "coco", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path)
        #expect(big.exitCode == 65 && big.stderr.contains("valid JSON, but") && !big.stderr.contains("not valid JSON"), "\(big.stderr)")
        // issues: 12 probability columns for the digits' 3 classes here.
        let rows = digits.count
        var values: [UInt8] = []
        for _ in 0..<rows { for k in 0..<12 { withUnsafeBytes(of: (k == 0 ? 1.0 : 0.0).bitPattern.littleEndian) { values += $0 } } }
        var npy = Self.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (\(rows), 12), }", payload: 0)
        npy.append(contentsOf: values)
        try npy.write(to: URL(fileURLWithPath: scratch.path + "/probs.npy"))
        let issues = try CLI.run(["issues", "--predictions", "probs.npy", "--ids", "ids.txt", "--labels", "labels.csv", "--format", "csv"], in: scratch.path)
        #expect(issues.exitCode == 65 && issues.stderr.contains("probs.npy: 12 columns, but the schema has"), "\(issues.stderr)")
    }
}

/// The CRC-32 of PNG chunks (type and data).
private func crc32(_ bytes: [UInt8]) -> [UInt8] {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    return [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
}
