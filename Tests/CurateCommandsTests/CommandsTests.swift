import CurateTestSupport
import CurateCore
@testable import CurateCommands
import Foundation
import Testing

@Suite struct TopLevelTests {
    @Test func versionAndHelp() throws {
        let version = try CLI.run(["--version"])
        #expect(version.exitCode == 0)
        #expect(version.stdout.hasPrefix("0.1.0 (pixel kernels: "), "the version names the kernels' instruction-set path: \(version.stdout)")
        #expect(version.stdout.split(separator: "\n").count == 1)
        let help = try CLI.run(["--help"])
        #expect(help.exitCode == 0)
        #expect(help.stdout.contains("inspect"))
        #expect(help.stdout.contains("labels"))
        #expect(help.stdout.contains("65 the data failed checks"))
    }

    @Test func unknownCommandIsAUsageError() throws {
        let result = try CLI.run(["frobnicate"])
        #expect(result.exitCode == 64)
    }
}

@Suite struct InspectTests {
    @Test func describesAnOrientedJPEG() throws {
        let result = try CLI.run(["inspect", "datasets/photos/images/chelsea-exif6.jpg"])
        #expect(result.exitCode == 0)
        #expect(result.stdout.hasPrefix(
            "datasets/photos/images/chelsea-exif6.jpg: JPEG 300x451 ycbcr 8-bit 4:2:0, EXIF orientation 6 (shown as 451x300), decoded 451x300x3 in "))
        #expect(result.stderr.isEmpty)
    }

    @Test func jsonReport() throws {
        let result = try CLI.run(["inspect", "--json", "--scale", "4", "datasets/photos/images/coffee.jpg", "Tests/CurateImagingTests/Fixtures/pngsuite/basn4a16.png"])
        #expect(result.exitCode == 0)
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(reports.count == 2)
        #expect(reports[0]["decodedWidth"] as? Int == 150)
        #expect(reports[0]["decodedHeight"] as? Int == 100)
        #expect(reports[1]["colorType"] as? String == "grey+alpha")
        #expect(reports[1]["bitDepth"] as? Int == 16)
        #expect(reports[1]["channels"] as? Int == 4)
    }

    @Test func corruptImageExits65WithOneLinePerFile() throws {
        let scratch = ScratchDirectory()
        let bytes = try #require(FileManager.default.contents(atPath: TestFixtures.repoPath("datasets/photos/images/coffee.jpg")))
        let cut = scratch.file("cut.jpg")
        _ = FileManager.default.createFile(atPath: cut, contents: bytes.prefix(bytes.count / 2))
        let result = try CLI.run(["inspect", cut, "datasets/photos/images/rocket.jpg"])
        #expect(result.exitCode == 65)
        #expect(result.stderr == "error: \(cut): truncated JPEG: Premature end of JPEG file\n")
        #expect(result.stdout.hasPrefix("datasets/photos/images/rocket.jpg: JPEG 640x427"))
    }

    @Test func foldersAreSearched() throws {
        let result = try CLI.run(["inspect", "datasets/photos/images"])
        #expect(result.exitCode == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 14)
        #expect(lines.first?.hasPrefix("datasets/photos/images/astronaut.jpg: JPEG 512x512") == true)
    }

    @Test func missingFileExits66() throws {
        let result = try CLI.run(["inspect", "nope.png"])
        #expect(result.exitCode == 66)
        #expect(result.stderr == "error: nope.png: no such file\n")
    }

    @Test func badOptionsAreUsageErrors() throws {
        #expect(try CLI.run(["inspect", "--scale", "3", "a.png"]).exitCode == 64)
        #expect(try CLI.run(["inspect", "--max-pixels", "100", "datasets/photos/images/coffee.jpg"]).exitCode == 65)
    }
}

@Suite struct LabelsConvertTests {
    @Test func cocoToYOLOToVOCToCOCO() throws {
        let scratch = ScratchDirectory()
        let yolo = try CLI.run(["labels", "convert", "datasets/photos/labels.coco.json", "--from", "coco", "--to", "yolo",
                                "--images", "datasets/photos", "--out", scratch.path + "/yolo"])
        #expect(yolo.exitCode == 0)
        #expect(yolo.stdout == "converted 14 items, 38 annotations, 12 classes: datasets/photos/labels.coco.json (coco) -> \(scratch.path)/yolo (yolo)\n")
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/yolo/labels/images/coins.txt"))
        let voc = try CLI.run(["labels", "convert", scratch.path + "/yolo", "--from", "yolo", "--to", "voc",
                               "--images", "datasets/photos", "--out", scratch.path + "/voc"])
        #expect(voc.exitCode == 0, "\(voc.stderr)")
        let coco = try CLI.run(["labels", "convert", scratch.path + "/voc", "--from", "voc", "--to", "coco",
                                "--images", "datasets/photos", "--out", scratch.path + "/back.json", "--json"])
        #expect(coco.exitCode == 0, "\(coco.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(coco.stdout.utf8)) as? [String: Any])
        #expect(summary["items"] as? Int == 14)
        #expect(summary["annotations"] as? Int == 38)
    }

    @Test func invalidRecordStopsAndWritesNothing() throws {
        let scratch = ScratchDirectory()
        let labels = scratch.write("l.csv", "path,label\nimages/0/0000.png,0\nimages/1/0001.png,eleven\n")
        scratch.write("classes.txt", (0...9).map(String.init).joined(separator: "\n"))
        let out = scratch.path + "/out.jsonl"
        let result = try CLI.run(["labels", "convert", labels, "--from", "csv", "--to", "jsonl", "--classes", scratch.path + "/classes.txt",
                                  "--images", "datasets/digits", "--out", out])
        #expect(result.exitCode == 65)
        #expect(result.stderr == "error: \(labels):3: unknown class 'eleven' (known: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9) (use --lenient to skip invalid records)\n")
        #expect(!FileManager.default.fileExists(atPath: out))
        let lenient = try CLI.run(["labels", "convert", labels, "--from", "csv", "--to", "jsonl", "--classes", scratch.path + "/classes.txt",
                                   "--images", "datasets/digits", "--out", out, "--lenient"])
        #expect(lenient.exitCode == 0)
        #expect(lenient.stderr == "warning: skipped \(labels):3: unknown class 'eleven' (known: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)\n")
        #expect(lenient.stdout.hasSuffix("; skipped 1 invalid records\n"))
        #expect(FileManager.default.fileExists(atPath: out))
    }

    @Test func unrepresentableOutputLeavesNoFolder() throws {
        let scratch = ScratchDirectory()
        let out = scratch.path + "/voc"
        let result = try CLI.run(["labels", "convert", "datasets/digits/labels.csv", "--from", "csv", "--to", "voc", "--out", out])
        #expect(result.exitCode == 65)
        #expect(result.stderr.hasPrefix("error: \(out): Pascal VOC holds boxes only; 'images/0/0000.png' has a classification label"))
        #expect(!FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func refusesToOverwriteAFolderAndReportsMissingInput() throws {
        let scratch = ScratchDirectory()
        scratch.write("taken/file.txt", "keep me")
        let busy = try CLI.run(["labels", "convert", "datasets/photos/labels.coco.json", "--from", "coco", "--to", "voc", "--out", scratch.path + "/taken"])
        #expect(busy.exitCode == 64)
        #expect(try String(contentsOfFile: scratch.path + "/taken/file.txt", encoding: .utf8) == "keep me")
        let missing = try CLI.run(["labels", "convert", "nope.json", "--from", "coco", "--to", "csv", "--out", scratch.path + "/x.csv"])
        #expect(missing.exitCode == 66)
        #expect(missing.stderr == "error: nope.json: no such file\n")
    }

    @Test func pathEscapingTheRootIsRefused() throws {
        let scratch = ScratchDirectory()
        let labels = scratch.write("l.jsonl", #"{"path": "../../etc/passwd", "labels": [{"class": "x"}]}"# + "\n")
        let result = try CLI.run(["labels", "convert", labels, "--from", "jsonl", "--to", "csv", "--out", scratch.path + "/o.csv"])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("\(labels):1: path '../../etc/passwd' escapes the dataset root"))
    }
}

/// CLI manners: a mistyped verb gets a suggestion (ArgumentParser alone blamed the next option), and a usage
/// mistake found while a command runs exits 64 with the usage line, not 1.
@Test func mistypedVerbsAndLateUsageErrorsExit64() throws {
    let scratch = ScratchDirectory()
    let typo = try CLI.run(["comit", "-m", "x"], in: scratch.path)
    #expect(typo.exitCode == 64 && typo.stderr == "error: unknown command 'comit'; did you mean 'commit'? (curate --help lists the commands)\n")
    let unknown = try CLI.run(["frobnicate"], in: scratch.path)
    #expect(unknown.exitCode == 64 && unknown.stderr == "error: unknown command 'frobnicate' (curate --help lists the commands)\n")
    #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
    let late = try CLI.run(["queue", "create", "q", "--where", "foo"], in: scratch.path)
    #expect(late.exitCode == 64 && late.stderr.hasPrefix("Error: --where takes tag=NAME\nUsage: "), "\(late.stderr)")
    #expect(editDistance("comit", "commit") == 1 && editDistance("", "ab") == 2 && editDistance("abc", "") == 3)
}

/// The exit-code contract of the README, one kind at a time, and on real command lines where a kind has one.
@Test func everyFailureKindHasItsDocumentedExitCode() throws {
    let table: [FailureKind: Int32] = [.notFound: 66, .unreadable: 66, .invalidData: 65, .usage: 64, .locked: 75, .conflict: 75, .waiting: 79, .unavailable: 69, .internal: 1]
    for kind in FailureKind.allCases { #expect(ExitCodes.code(for: kind) == table[kind], "\(kind)") }
    let scratch = ScratchDirectory()
    let digits = try scratch.copyDigits(3)
    scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined())
    // The same missing input is 66 whichever verb reads it (it was 65 for add and 66 for inspect).
    #expect(try CLI.run(["inspect", "nope.png"], in: scratch.path).exitCode == 66)
    #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
    #expect(try CLI.run(["add", "images", "--labels", "nope.jsonl", "--format", "jsonl"], in: scratch.path).exitCode == 66)
    #expect(try CLI.run(["labels", "convert", "nope.csv", "--from", "csv", "--to", "jsonl", "--out", "o.jsonl"], in: scratch.path).exitCode == 66)
    for args in [["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["queue", "create", "q", "--paths", "images"]] {
        #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
    }
    // 79: a workflow waiting for people to finish its queue.
    scratch.write("flow.yaml", "name: w\nsteps:\n  - {name: label, run: label, queue: q, timeout: 0.1}\n")
    let waiting = try CLI.run(["run", "flow.yaml"], in: scratch.path)
    #expect(waiting.exitCode == 79 && waiting.stderr.contains("paused at step label: queue q has 0 of 3 items done"), "\(waiting)")
    // 69: the labeling store's server cannot be reached (nothing listens on port 1).
    let unreachable = try CLI.run(["queue", "list"], in: scratch.path, environment: ["CURATE_STORE": "postgres://curate@127.0.0.1:1/labels"])
    #expect(unreachable.exitCode == 69 && unreachable.stderr.hasPrefix("error: postgres://curate@127.0.0.1:1/labels: cannot reach the server"), "\(unreachable)")
}

/// --format is inferred from the file when omitted, and a wrong one is named with the format the file looks like.
@Test func labelFormatsAreDetected() throws {
    let photos = TestFixtures.repoPath("datasets/photos"), digits = TestFixtures.repoPath("datasets/digits")
    #expect(LabelFormat.detect(photos + "/labels.coco.json") == .coco)
    #expect(LabelFormat.detect(digits + "/labels.csv") == .csv)
    #expect(LabelFormat.detect(digits + "/crowd.jsonl") == .jsonl)
    #expect(LabelFormat.detect(photos + "/images") == nil)
    let scratch = ScratchDirectory()
    let inferred = try CLI.run(["labels", "convert", photos + "/labels.coco.json", "--to", "jsonl", "--images", photos, "--out", scratch.path + "/a.jsonl"])
    #expect(inferred.exitCode == 0 && inferred.stdout.contains("(coco) -> "), "\(inferred)")
    let wrong = try CLI.run(["labels", "convert", photos + "/labels.coco.json", "--from", "jsonl", "--to", "csv", "--images", photos, "--out", scratch.path + "/a.csv"])
    #expect(wrong.exitCode == 65 && wrong.stderr.contains("it looks like coco, not jsonl: pass --format coco"), "\(wrong.stderr)")
    scratch.write("notes.md", "hello")
    let unknown = try CLI.run(["labels", "convert", "notes.md", "--to", "csv", "--out", "a.csv"], in: scratch.path)
    #expect(unknown.exitCode == 64 && unknown.stderr.contains("notes.md: cannot tell its label format; pass --format"), "\(unknown.stderr)")
}

/// Every verb's help has an example, and every example line fits 80 columns (long ones continue with a
/// backslash), so examples stay pasteable from a narrow terminal.
@Test(arguments: [["init"], ["add"], ["status"], ["commit"], ["log"], ["show"], ["tag"], ["diff"], ["checkout"], ["fsck"], ["gc"],
                  ["augment"], ["validate"], ["annotators"], ["issues"], ["select"], ["simulate"], ["triage"],
                  ["queue", "create"], ["queue", "list"], ["queue", "show"], ["queue", "close"], ["queue", "next"], ["queue", "answer"],
                  ["queue", "export"], ["label"], ["route", "run"], ["route", "report"], ["run"], ["runs"], ["inspect"],
                  ["labels", "convert"], ["labels", "export"]])
func everyHelpHasAPasteableExample(_ verb: [String]) throws {
    let help = try CLI.run(verb + ["--help"], environment: ["COLUMNS": "300"]).stdout
    #expect(help.contains("Example"), "\(verb.joined(separator: " ")) --help has no example")
    for line in help.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("curate ") {
        #expect(line.count <= 80, "\(verb.joined(separator: " ")): \(line)")
    }
}
