import CurateRemote
import CurateStore
import CurateTestSupport
import CurateVersioning
import Foundation
import Testing

/// `curate label` driven as a person would: in tmux, keys with send-keys, the screen with capture-pane.
@Suite(.serialized) struct LabelSessionTmuxTests {
    let server = Tmux()

    @discardableResult
    func tmux(_ args: [String]) throws -> String { server(args) }

    func screen() throws -> [String] { server.screen("L") }

    func waitFor(_ what: String, _ condition: ([String]) -> Bool) throws -> [String] { server.waitFor("L", what, condition) }

    @Test func labelKillResumeResizeQuit() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(12)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        // One item of each digit labeled: the schema has all ten classes.
        let csv = "path,label\n" + digits.prefix(10).map { "\($0.path),\($0.label)\n" }.joined()
        scratch.write("labels.csv", csv)
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["queue", "create", "q", "--paths", "images"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        // The first session is killed (its terminal stays raw: SIGKILL cannot be caught); only the resumed one,
        // which quits normally, records the terminal state.
        scratch.write("first.sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue q --annotator ana\nsleep 120\n")
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue q --annotator ana\necho \"exit $?\" > exit.txt\nstty -a > stty.txt\nsleep 120\n")
        chmod(scratch.path + "/first.sh", 0o755)
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        _ = try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/first.sh"])
        var s = try waitFor("the first item") { $0.first?.hasPrefix("curate label — queue q — ana — images/") == true }
        #expect(s.contains { $0.hasPrefix("you: 0 · queue: 0/12 complete ·") })
        #expect(s.contains { $0.hasPrefix("0 0  1 1  2 2  3 3  4 4  5 5  6 6  7 7  8 8  9 9") })
        // Label three items with their true class, reading each path off the screen.
        var answered: [String] = []
        for n in 1...3 {
            let path = String(s[0].split(separator: " ").last!)
            answered.append(path)
            _ = try tmux(["send-keys", "-t", "L", truth[path]!])
            s = try waitFor("the next item") { screen in
                screen.first != s[0] && screen.first?.hasPrefix("curate label") == true && screen.contains { $0.hasPrefix("you: \(n) ·") }
            }
        }
        #expect(s.contains { $0.hasPrefix("you: 3 · queue: 3/12 complete ·") }, "\(s)")
        let onScreen = String(s[0].split(separator: " ").last!)
        // SIGKILL the session: the three answers are stored, and reopening resumes at the item on screen.
        _ = system("pkill -9 -f '\(CLI.executable) label --queue q'")
        let stored = try CLI.run(["queue", "export", "q", "--out", "answers.jsonl"], in: scratch.path)
        #expect(stored.stdout.hasPrefix("3 answers exported: 3 labels on 3 items"), "\(stored.stdout)")
        let exported = try String(contentsOfFile: scratch.path + "/answers.jsonl", encoding: .utf8)
        for path in answered { #expect(exported.contains(#""path":"\#(path)""#) && exported.contains(#""class":"\#(truth[path]!)""#)) }
        _ = try tmux(["kill-session", "-t", "L"])
        _ = try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/run.sh"])
        s = try waitFor("the resumed item") { $0.first?.hasSuffix(onScreen) == true }
        // Resize: the screen is redrawn for the new size; too small gets a message.
        _ = try tmux(["resize-window", "-t", "L", "-x", "60", "-y", "20"])
        s = try waitFor("the redraw at 60x20") { $0.count >= 20 && $0[19].hasPrefix("you: 3 · queue: 3/12 complete ·") }
        _ = try tmux(["resize-window", "-t", "L", "-x", "30", "-y", "10"])
        _ = try waitFor("the too-small message") { $0.first?.hasPrefix("Window too small: 30x10;") == true }
        _ = try tmux(["resize-window", "-t", "L", "-x", "100", "-y", "30"])
        s = try waitFor("the normal screen") { $0.first?.hasPrefix("curate label") == true }
        // The class picker: / then part of a name lists the matches; Esc goes back.
        _ = try tmux(["send-keys", "-t", "L", "/", "7"])
        _ = try waitFor("the picker") { $0.contains { $0.hasPrefix("pick a class: 7_") } && $0.contains { $0.hasPrefix("> 7 7") } }
        _ = try tmux(["send-keys", "-t", "L", "Escape"])
        // Zoom in and out.
        _ = try tmux(["send-keys", "-t", "L", "+"])
        _ = try waitFor("the zoomed view") { $0.contains { $0.hasPrefix("2× · press a class key") } }
        _ = try tmux(["send-keys", "-t", "L", "-"])
        s = try waitFor("the whole image") { $0.contains { $0.hasPrefix("press a class key") } }
        // Answer, then the history: this session's answer listed, Enter takes it back to answer again.
        let resumed = String(s[0].split(separator: " ").last!)
        _ = try tmux(["send-keys", "-t", "L", truth[resumed]!])
        _ = try waitFor("the saved answer") { $0.contains { $0.hasPrefix("saved: \(resumed) → \(truth[resumed]!)") } }
        _ = try tmux(["send-keys", "-t", "L", "p"])
        _ = try waitFor("the history") { $0.contains { $0.hasPrefix("> \(truth[resumed]!)  ←  \(resumed)") } }
        _ = try tmux(["send-keys", "-t", "L", "Enter"])
        _ = try waitFor("the item back") { $0.first?.hasSuffix(resumed) == true && $0.contains { $0.hasPrefix("undone: \(truth[resumed]!) on \(resumed)") } }
        _ = try tmux(["send-keys", "-t", "L", truth[resumed]!])
        _ = try waitFor("the answer again") { $0.contains { $0.hasPrefix("you: 4 ·") } }
        // Quit: the terminal is restored (canonical mode and echo back on) and the command says what it stored.
        _ = try tmux(["send-keys", "-t", "L", "q"])
        s = try waitFor("the exit") { $0.contains { $0.hasPrefix("1 answer stored in queue q by ana") } }
        for _ in 0..<50 where ((try? String(contentsOfFile: scratch.path + "/stty.txt", encoding: .utf8)) ?? "").isEmpty { Thread.sleep(forTimeInterval: 0.1) }
        let stty = (try? String(contentsOfFile: scratch.path + "/stty.txt", encoding: .utf8)) ?? ""
        #expect(stty.contains(" icanon") && !stty.contains("-icanon") && stty.contains(" echo ") && !stty.contains("-echo "), "\(stty)")
        #expect((try? String(contentsOfFile: scratch.path + "/exit.txt", encoding: .utf8)) == "exit 0\n")
    }

    /// SIGTERM and SIGHUP (a closed ssh) restore the terminal too; a bad queue or annotator is a clear error.
    @Test(arguments: ["TERM", "HUP"])
    func signalsRestoreTheTerminal(_ signal: String) throws {
        let scratch = ScratchDirectory()
        let digit = try scratch.copyDigits(1)[0]
        scratch.write("labels.csv", "path,label\n\(digit.path),\(digit.label)\n")
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["queue", "create", "q", "--paths", "images"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue q --annotator ana\nstty -a > stty.txt\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "L", "-x", "90", "-y", "26", scratch.path + "/run.sh"])
        _ = try waitFor("the session") { $0.first?.hasPrefix("curate label — queue q — ana") == true }
        _ = system("pkill -\(signal) -f '\(CLI.executable) label --queue q'")
        for _ in 0..<50 where ((try? String(contentsOfFile: scratch.path + "/stty.txt", encoding: .utf8)) ?? "").isEmpty { Thread.sleep(forTimeInterval: 0.1) }
        let stty = (try? String(contentsOfFile: scratch.path + "/stty.txt", encoding: .utf8)) ?? ""
        #expect(stty.contains(" icanon") && !stty.contains("-icanon") && stty.contains(" echo ") && !stty.contains("-echo "), "\(signal): \(stty)")
        let unknown = try CLI.run(["label", "--queue", "nope", "--annotator", "ana"], in: scratch.path)
        #expect(unknown.exitCode == 66 && unknown.stderr.contains("no queue named nope (queues: q)"))
        let badAnnotator = try CLI.run(["label", "--queue", "q", "--annotator", "a:b"], in: scratch.path)
        #expect(badAnnotator.exitCode == 64 && badAnnotator.stderr.contains("ids are one line of up to 100 characters, not empty, without control characters or ':'"))
    }

    /// Two annotators in two terminals on one queue: nobody is served an item the other holds or answered; an
    /// item that fails to decode shows an error card that can be skipped.
    @Test func twoSessionsAtOnceAndABrokenImage() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(10)
        let csv = "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined()
        scratch.write("labels.csv", csv)
        scratch.write("images/broken.png", "\u{89}PNG\r\n\u{1A}\nnot really")
        var batch = #"{"item": "images/broken.png"}"# + "\n"
        for digit in digits { batch += #"{"item": "\#(digit.path)"}"# + "\n" }
        scratch.write("batch.jsonl", batch)
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["queue", "create", "q", "--from", "batch.jsonl"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        for who in ["ana", "ben"] {
            scratch.write("\(who).sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue q --annotator \(who)\nsleep 120\n")
            chmod(scratch.path + "/\(who).sh", 0o755)
        }
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/ana.sh"])
        // ana gets the broken image first: an error card, which she skips.
        _ = try waitFor("the error card") { $0.contains { $0.hasPrefix("cannot show this item: images/broken.png") } }
        try tmux(["send-keys", "-t", "L", "s"])
        var anaScreen = try waitFor("ana's next item") { $0.first?.hasPrefix("curate label — queue q — ana — images/0/") == true }
        // ben, in a second terminal, gets a different item while ana holds hers.
        try tmux(["new-window", "-t", "L", scratch.path + "/ben.sh"])
        let benScreen = try waitFor("ben's first item") { $0.first?.hasPrefix("curate label — queue q — ben — images/") == true }
        #expect(benScreen[0].split(separator: " ").last != anaScreen[0].split(separator: " ").last)
        // Both answer everything in turn; afterwards every item has exactly one answer.
        for round in 1...12 {
            try tmux(["send-keys", "-t", "L:1", "3"])
            try tmux(["send-keys", "-t", "L:0", "3"])
            // Paced by the queue, not by a fixed sleep: wait until both keys were stored (or the queue ran out).
            for _ in 0..<100 {
                let show = (try? CLI.run(["queue", "show", "q", "--json"], in: scratch.path).stdout) ?? ""
                let object = (try? JSONSerialization.jsonObject(with: Data(show.utf8))) as? [String: Any]
                let answers = object?["answers"] as? Int ?? 0, items = object?["items"] as? Int ?? 0
                if answers >= min(2 * round, items) { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        anaScreen = try waitFor("the end of the queue") { _ in
            ((try? CLI.run(["queue", "show", "q"], in: scratch.path).stdout) ?? "").contains("11 of 11 items done")
        }
        let export = try CLI.run(["queue", "export", "q", "--out", "a.jsonl"], in: scratch.path)
        #expect(export.stdout.hasPrefix("11 answers exported: 10 labels on 10 items written to a.jsonl (1 skipped); 1 decision not written (--decisions FILE)"), "\(export.stdout)")
        let text = try String(contentsOfFile: scratch.path + "/a.jsonl", encoding: .utf8)
        #expect(text.contains("annotator:ana") && text.contains("annotator:ben"))
    }

    /// Box review of the bundled photos: the boxes are drawn, Tab / e / arrows / a class key edit one, Enter stores
    /// the edited boxes, and the export carries them as box labels.
    @Test func boxReviewOfThePhotos() throws {
        let scratch = ScratchDirectory()
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
        scratch.write("batch.jsonl", #"{"item": "images/astronaut.jpg"}"# + "\n")
        for args in [["init"], ["add", "images", "--labels", "labels.coco.json", "--format", "coco"], ["commit", "-m", "p", "--author", "t"],
                     ["queue", "create", "b", "--task", "boxes", "--from", "batch.jsonl"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        let coco = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/labels.coco.json"))) as! [String: Any]
        let image = (coco["images"] as! [[String: Any]]).first { ($0["file_name"] as! String) == "images/astronaut.jpg" }!["id"] as! Int
        let boxes = (coco["annotations"] as! [[String: Any]]).filter { $0["image_id"] as! Int == image }.map { ($0["bbox"] as! [Double]) }
        #expect(boxes.count >= 2)
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue b --annotator ana\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "32", scratch.path + "/run.sh"])
        var s = try waitFor("the boxes") { $0.contains { $0.hasPrefix("box 1/\(boxes.count) ") } }
        #expect(s.contains { $0.contains("0 person") && $0.contains("7 helmet") })
        // The selected box heavy (or # without colour), its class on its top edge; the others light (or +).
        let drawn = s.joined(separator: "\n")
        #expect((drawn.contains("┏0 person") && drawn.contains("┌")) || (drawn.contains("#0 person") && drawn.contains("+")), "\(drawn)")
        // The second box: its left edge 2% of 512 to the left (two presses of 5 px), class key 2 (cup).
        for key in ["Tab", "e", "Left", "h", "2"] { try tmux(["send-keys", "-t", "L", key]) }
        s = try waitFor("the edited box") { $0.contains { $0.hasPrefix("box 2/\(boxes.count) cup \(Int(boxes[1][0]) - 10),") } }
        // The mouse (SGR 1006 reports, as a terminal sends them through tmux): a drag in the image's top-left
        // corner draws a new box; class key 1 sets its class.
        for report in ["\u{1B}[<0;2;3M", "\u{1B}[<32;5;4M", "\u{1B}[<32;8;6M", "\u{1B}[<0;8;6m"] { try tmux(["send-keys", "-t", "L", "-l", report]) }
        s = try waitFor("the drawn box") { $0.contains { $0.hasPrefix("box \(boxes.count + 1) drawn") } }
        try tmux(["send-keys", "-t", "L", "1"])
        s = try waitFor("its class") { $0.contains { $0.hasPrefix("box \(boxes.count + 1)/\(boxes.count + 1) ") } }
        // Classes beyond the tenth have keys too (12 classes: a bicycle, b clock), shown in the legend.
        #expect(s.contains { $0.contains("a bicycle") && $0.contains("b clock") }, "\(s)")
        try tmux(["send-keys", "-t", "L", "b"])
        _ = try waitFor("class b") { $0.contains { $0.hasPrefix("box \(boxes.count + 1)/\(boxes.count + 1) clock ") } }
        try tmux(["send-keys", "-t", "L", "1"])
        _ = try waitFor("class 1 again") { $0.contains { $0.hasPrefix("box \(boxes.count + 1)/\(boxes.count + 1) cat ") } }
        try tmux(["send-keys", "-t", "L", "Enter"])
        _ = try waitFor("the end of the queue") { $0.contains { $0.hasPrefix("Nothing left to label") } }
        let export = try CLI.run(["queue", "export", "b", "--out", "a.jsonl"], in: scratch.path)
        #expect(export.exitCode == 0, "\(export.stderr)")
        let text = try String(contentsOfFile: scratch.path + "/a.jsonl", encoding: .utf8)
        let edited = [boxes[1][0] - 10, boxes[1][1], boxes[1][2] + 10, boxes[1][3]].map { v in v == v.rounded() ? String(Int(v)) : String(v) }
        #expect(text.contains(#""box":[\#(edited.joined(separator: ","))],"class":"cup""#), "\(text)")
        #expect(text.components(separatedBy: #""box":"#).count - 1 == boxes.count + 1)
        // Drawn from the image's second column and row of cells (a 512-px image in 26 rows: 20 px per row).
        #expect(text.contains(#""box":[10,20,"#) && text.contains(#""class":"cat""#), "\(text.suffix(600))")
    }

    /// An annotator labels a queue in a `--no-blobs` clone of an S3 remote: each image is fetched when the session
    /// needs it, not the dataset up front.
    @Test func labelInANoBlobsCloneFetchesImagesOnDemand() throws {
        let scratch = ScratchDirectory()
        let server = try S3Server.shared.get()
        let bucket = S3Server.newBucketName()
        try S3Client(endpoint: URL(string: server.endpoint)!, bucket: bucket, pathStyle: true,
                     signer: SigV4(credentials: AWSCredentials(accessKeyID: server.accessKeyID, secretAccessKey: server.secretAccessKey), region: "us-east-1"))
            .createBucket()
        let source = scratch.path + "/source"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        let digits = try scratch.copyDigits(60)
        try FileManager.default.moveItem(atPath: scratch.path + "/images", toPath: source + "/images")
        try ("path,label\n" + digits.prefix(10).map { "\($0.path),\($0.label)\n" }.joined()).write(toFile: source + "/labels.csv", atomically: true, encoding: .utf8)
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"],
                     ["remote", "add", "origin", "s3://\(bucket)/digits", "--endpoint", server.endpoint], ["push", "-q"]] {
            let r = try CLI.run(args, in: source, environment: server.environment)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        let labeler = scratch.path + "/labeler"
        let clone = try CLI.run(["clone", "-q", "s3://\(bucket)/digits", labeler, "--no-blobs", "--endpoint", server.endpoint], in: scratch.path, environment: server.environment)
        #expect(clone.exitCode == 0, "\(clone.stderr)")
        let queue = try CLI.run(["queue", "create", "q", "--paths", "images"], in: labeler, environment: server.environment)
        #expect(queue.exitCode == 0, "\(queue.stderr)")
        let repo = try Repository.open(at: labeler)
        let blobs = try repo.files(at: "HEAD").map(\.hash)
        #expect(try repo.missing(blobs).count == 60)
        let exports = server.environment.map { "export \($0.key)='\($0.value)'\n" }.joined()
        scratch.write("run.sh", "#!/bin/sh\n\(exports)cd '\(labeler)'\n'\(CLI.executable)' label --queue q --annotator ana\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/run.sh"])
        var s = try waitFor("the first item") { $0.first?.hasPrefix("curate label — queue q — ana — images/") == true }
        // The image is drawn (no error in its place), then the next after a key press.
        s = try waitFor("the image") { screen in screen.dropFirst().prefix(10).contains { $0.trimmingCharacters(in: .whitespaces).count > 10 } }
        #expect(!s.joined().contains("not in the store"), "\(s.joined(separator: "\n"))")
        let first = s[0]
        try tmux(["send-keys", "-t", "L", "1"])
        _ = try waitFor("the second item") { $0.first?.hasPrefix("curate label — queue q — ana — images/") == true && $0.first != first }
        try tmux(["send-keys", "-t", "L", "q"])
        Thread.sleep(forTimeInterval: 0.5)
        let fetched = 60 - (try repo.missing(blobs).count)
        #expect(fetched >= 2)   // the two items shown (and the few the session decoded ahead)
        #expect(fetched < 60)   // not the dataset
        #expect(try CLI.run(["fsck"], in: labeler).stdout.contains("no problems"))
    }

    /// A text item is shown wrapped to the window, and labeled like an image.
    @Test func textItemsAreWrapped() throws {
        let scratch = ScratchDirectory()
        let digit = try scratch.copyDigits(1)[0]
        scratch.write("labels.csv", "path,label\n\(digit.path),\(digit.label)\n")
        let review = (1...30).map { "word\($0)" }.joined(separator: " ")
        scratch.write("texts/review.txt", review + "\n")
        for args in [["init"], ["add", "images", "texts", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "t", "--author", "t"],
                     ["queue", "create", "q", "--paths", "texts"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue q --annotator ana\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "L", "-x", "60", "-y", "20", scratch.path + "/run.sh"])
        let s = try waitFor("the text") { $0.first?.hasSuffix("texts/review.txt") == true }
        // 60 columns: "word1 … word10" fills the first line exactly; every word shown, in order, no line too long.
        #expect(s[1] == "word1 word2 word3 word4 word5 word6 word7 word8 word9 word10", "\(s)")
        #expect(s[1...4].joined(separator: " ") == review && s[1...4].allSatisfy { $0.count <= 60 })
        try tmux(["send-keys", "-t", "L", digit.label])
        _ = try waitFor("the end") { $0.contains { $0.hasPrefix("Nothing left to label") } }
    }

    /// The active-learning workflow with a person: its label step opens the session in this terminal (handed the
    /// terminal as the foreground process group), the person answers, and the run goes on to commit.
    @Test func activeLearningWorkflowWithAPerson() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(300)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        scratch.write("labels.csv", "path,label\n" + digits.enumerated().filter { $0.offset % 3 != 0 }.map { "\($0.element.path),\($0.element.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        let workflow = TestFixtures.repoPath("workflows/active-learning.yaml")
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\nUSER=pat '\(CLI.executable)' run '\(workflow)' --set budget=5\necho \"exit $?\" > exit.txt\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/run.sh"])
        var s = try waitFor("the session inside the workflow") { $0.first?.hasPrefix("curate label — queue al-human — pat — images/") == true }
        var answered = 0
        while let first = s.first, first.hasPrefix("curate label — queue al-human — pat — images/"), answered < 100 {
            let path = String(first.split(separator: " ").last!)
            try tmux(["send-keys", "-t", "L", truth[path]!])
            answered += 1
            s = try waitFor("the next item") { $0.first != first }
        }
        #expect(answered >= 1)
        _ = try waitFor("the end of the queue") { $0.contains { $0.hasPrefix("Nothing left to label") } }
        try tmux(["send-keys", "-t", "L", "q"])
        for _ in 0..<100 where ((try? String(contentsOfFile: scratch.path + "/exit.txt", encoding: .utf8)) ?? "").isEmpty { Thread.sleep(forTimeInterval: 0.1) }
        let out = try screen().joined(separator: "\n")
        #expect((try? String(contentsOfFile: scratch.path + "/exit.txt", encoding: .utf8)) == "exit 0\n", "\(out)")
        #expect(out.contains("[9/9] commit: done") && out.contains("run 1 of active-learning finished"), "\(out)")
        #expect(try CLI.run(["log", "-n", "1"], in: scratch.path).stdout.contains("active-learning round: margin, budget 5"))
    }

    /// A workflow's label step opens the session in this terminal, inside the `curate run` process: the person
    /// labels, quits with items left, and the run pauses waiting (exit 79); answering the rest finishes it.
    @Test func aWorkflowLabelStepRunsTheSessionInProcess() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(10)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"],
                     ["queue", "create", "q", "--paths", "images/0", "images/1", "images/2"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        scratch.write("flow.yaml", "name: flow\nsteps:\n  - {name: people, run: label, queue: q}\n  - {name: after, run: queue, args: [show, q]}\n")
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\nUSER=ana '\(CLI.executable)' run flow.yaml 2> err.txt\necho \"exit $?\" > exit.txt\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        _ = try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/run.sh"])
        var s = try waitFor("the first item") { $0.first?.hasPrefix("curate label — queue q — ana — images/") == true }
        let path = String(s[0].split(separator: " ").last!)
        _ = try tmux(["send-keys", "-t", "L", truth[path]!])
        s = try waitFor("the next item") { $0.first != s[0] && $0.first?.hasPrefix("curate label") == true }
        _ = try tmux(["send-keys", "-t", "L", "q"])
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: scratch.path + "/exit.txt") { Thread.sleep(forTimeInterval: 0.1) }
        #expect((try? String(contentsOfFile: scratch.path + "/exit.txt", encoding: .utf8)) == "exit 79\n")
        let err = (try? String(contentsOfFile: scratch.path + "/err.txt", encoding: .utf8)) ?? ""
        #expect(err.contains("paused at step people: queue q has 1 of 3 items done"), "\(err)")
        // The rest answered by script (the first is the item ana's session still holds); the resumed run
        // finishes and runs the next step.
        for _ in 0..<2 {
            let next = try CLI.run(["queue", "next", "q", "--annotator", "ana", "--json"], in: scratch.path)
            let lease = try #require(try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String])
            #expect(try CLI.run(["queue", "answer", "q", "--annotator", "ana", "--item", lease["item"]!, "--lease", lease["lease"]!,
                                 "--label", truth[lease["item"]!]!], in: scratch.path).exitCode == 0)
        }
        let resumed = try CLI.run(["run", "flow.yaml", "--resume"], in: scratch.path)
        #expect(resumed.exitCode == 0 && resumed.stdout.contains("3 of 3 items done"), "\(resumed)")
    }

    /// The session on a PostgreSQL store while its server goes away and comes back: the key pressed meanwhile
    /// says "reconnecting…" on the status line, the answer is stored once the server is back, and labeling goes
    /// on; with nothing left, the session waits and shows items added later (NOTIFY); afterwards every answer is
    /// there once.
    @Test func labelOnPostgresThroughAServerRestart() throws {
        let cluster = try PostgresServer.privateCluster()
        let url = try cluster.newDatabase()
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(12)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        scratch.write("labels.csv", "path,label\n" + digits.prefix(10).map { "\($0.path),\($0.label)\n" }.joined())
        scratch.write("batch.jsonl", digits.prefix(6).map { #"{"item":"\#($0.path)"}"# + "\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["store", "set", url],
                     ["queue", "create", "q", "--from", "batch.jsonl"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        scratch.write("run.sh", "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' label --queue q --annotator ana\necho \"exit $?\" > exit.txt\nsleep 120\n")
        chmod(scratch.path + "/run.sh", 0o755)
        defer { _ = try? tmux(["kill-server"]) }
        _ = try tmux(["new-session", "-d", "-s", "L", "-x", "100", "-y", "30", scratch.path + "/run.sh"])
        var s = try waitFor("the first item") { $0.first?.hasPrefix("curate label — queue q — ana — images/") == true }
        var answered: [String] = []
        func answer(_ wait: () throws -> Void = {}) throws {
            let path = String(s[0].split(separator: " ").last!)
            answered.append(path)
            _ = try tmux(["send-keys", "-t", "L", truth[path]!])
            try wait()
            s = try waitFor("the item after \(path)") { $0.first != s[0] && $0.first?.hasPrefix("curate label") == true }
        }
        try answer()
        try answer()
        // The server goes away; the key pressed now waits, saying so, and goes through when it is back.
        try cluster.stop()
        try answer {
            _ = try waitFor("the reconnecting line") { $0.contains { $0.hasPrefix("reconnecting to postgres://postgres@127.0.0.1:\(cluster.port)/") } }
            try cluster.start()
        }
        // (The frame's last line, the status, may come a moment after its first.)
        s = try waitFor("the status after three answers") { $0.contains { $0.hasPrefix("you: 3 · queue: 3/6 complete ·") } }
        for _ in 0..<2 { try answer() }
        // The last one: the session says nothing is left, and waits.
        let last = String(s[0].split(separator: " ").last!)
        answered.append(last)
        _ = try tmux(["send-keys", "-t", "L", truth[last]!])
        _ = try waitFor("the end of the queue") { $0.contains { $0.hasPrefix("Nothing left to label") } }
        // The lead adds two items: the waiting session is told and shows one.
        let lead = try PostgresStore(try PostgresLocation(url: url))
        #expect(try lead.addQueueItems("q", items: digits[6..<8].map { QueueItem(path: $0.path) }) == 2)
        s = try waitFor("a new item") { $0.first?.hasPrefix("curate label — queue q — ana — images/") == true }
        for _ in 0..<2 {
            let path = String(s[0].split(separator: " ").last!)
            answered.append(path)
            _ = try tmux(["send-keys", "-t", "L", truth[path]!])
            s = try waitFor("the next screen") { $0.first != s[0] }
        }
        _ = try waitFor("the end again") { $0.contains { $0.hasPrefix("Nothing left to label") } }
        _ = try tmux(["send-keys", "-t", "L", "q"])
        _ = try waitFor("the session to end") { _ in FileManager.default.fileExists(atPath: scratch.path + "/exit.txt") }
        #expect(try String(contentsOfFile: scratch.path + "/exit.txt", encoding: .utf8) == "exit 0\n")
        let export = try CLI.run(["queue", "export", "q", "--out", "answers.jsonl"], in: scratch.path)
        #expect(export.stdout.hasPrefix("8 answers exported: 8 labels on 8 items"), "\(export)")
        let exported = try String(contentsOfFile: scratch.path + "/answers.jsonl", encoding: .utf8)
        for path in answered { #expect(exported.contains(#""path":"\#(path)""#) && exported.contains(#""class":"\#(truth[path]!)""#)) }
        #expect(Set(answered).count == 8)
    }
}
