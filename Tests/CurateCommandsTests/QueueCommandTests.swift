import CurateTestSupport
import CurateStore
import Foundation
import Testing

@Suite struct QueueCommandTests {
    /// Gold rows that are batch items stay items (and say so); only the gold the rate needs is queued; suggested
    /// boxes outside their image are refused at create time.
    @Test func goldRespectsTheRateAndSuggestionsAreBoundsChecked() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(40)
        scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)" }.joined(separator: "\n") + "\n")
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        scratch.write("batch.jsonl", digits.prefix(20).map { #"{"item": "\#($0.path)"}"# + "\n" }.joined())
        // 12 gold rows: 2 are batch items (they become gold), 10 are not; a rate of 0.1 over the 18 items left to
        // label needs ⌈18 × 0.1 / 0.9⌉ = 2 gold: the 2 folded in are enough, none of the 10 others is added.
        let gold = digits[18..<30].map { "\($0.path),\($0.label)" }
        scratch.write("gold.csv", "path,label\n" + gold.joined(separator: "\n") + "\n")
        let create = try CLI.run(["queue", "create", "g", "--from", "batch.jsonl", "--gold", "gold.csv", "--gold-rate", "0.1"], in: scratch.path)
        #expect(create.exitCode == 0, "\(create.stderr)")
        #expect(create.stdout == """
            queue g: 18 items + 2 gold, task classify, overlap 1
              2 queued items (e.g. \(digits[18].path)) are in gold.csv: served as gold, not as items to label
              0 of the 10 other gold rows added: a gold rate of 0.1 over 18 items needs 2 gold per annotator

            """, "\(create.stdout)")
        #expect(try CLI.run(["queue", "show", "g"], in: scratch.path).stdout.contains("0 of 20 items done (2 gold)"))
        // At 0.3 over 18 items: ⌈18 × 0.3 / 0.7⌉ = 8 gold, 2 folded in and 6 of the 10 others, spread over the file.
        let more = try CLI.run(["queue", "create", "h", "--from", "batch.jsonl", "--gold", "gold.csv", "--gold-rate", "0.3"], in: scratch.path)
        #expect(more.stdout.hasPrefix("queue h: 18 items + 8 gold,") && more.stdout.contains("6 of the 10 other gold rows added"), "\(more.stdout)")
        let zero = try CLI.run(["queue", "create", "z", "--from", "batch.jsonl", "--gold", "gold.csv", "--gold-rate", "0"], in: scratch.path)
        #expect(zero.exitCode == 65 && zero.stderr.contains("gold.csv: gold is served at --gold-rate, which is 0"), "\(zero.stderr)")

        // Boxes: a box 5000 pixels wide on a digit is refused, naming the item, and nothing is queued.
        scratch.write("boxes.jsonl", #"{"item": "\#(digits[0].path)", "suggestion": {"boxes": [{"class": "\#(digits[0].label)", "x": 1, "y": 1, "w": 5000, "h": 4}]}}"# + "\n")
        let boxes = try CLI.run(["queue", "create", "b", "--task", "boxes", "--from", "boxes.jsonl"], in: scratch.path)
        #expect(boxes.exitCode == 65 && boxes.stderr.contains("\(digits[0].path): suggested box \(digits[0].label) [1, 1, 5000, 4] (x, y, w, h) leaves the "), "\(boxes.stderr)")
        let absent = try CLI.run(["queue", "show", "b"], in: scratch.path)
        #expect(absent.exitCode != 0 && absent.stderr.contains("b"), "\(absent.stderr)")
    }

    /// A repository of 60 digits (20 labeled): select a batch, queue it with overlap 2 and gold, answer from two
    /// annotators by script, export the answers and validate them.
    @Test func queueFromABatchAnswerAndExport() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(60)
        let rows = digits.map { "\($0.path),\($0.label)" }
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        let csv = "path,label\n" + rows.prefix(20).joined(separator: "\n") + "\n"
        scratch.write("labels.csv", csv)
        #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["add", "images", "--labels", "labels.csv", "--format", "csv"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "digits", "--author", "t"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["select", "--strategy", "margin", "--budget", "10", "--out", "batch.jsonl"], in: scratch.path).exitCode == 0)
        let goldPath = digits[0].path
        scratch.write("gold.csv", "path,label\n\(goldPath),\(truth[goldPath]!)\n")
        let create = try CLI.run(["queue", "create", "round1", "--from", "batch.jsonl", "--overlap", "2", "--gold", "gold.csv", "--gold-rate", "0.2"], in: scratch.path)
        #expect(create.exitCode == 0, "\(create.stderr)")
        #expect(create.stdout == "queue round1: 10 items + 1 gold, task classify, overlap 2\n")
        // Two annotators answer everything they are served, truthfully.
        for annotator in ["ana", "ben"] {
            while true {
                let next = try CLI.run(["queue", "next", "round1", "--annotator", annotator], in: scratch.path)
                if next.exitCode != 0 { #expect(next.stdout.hasPrefix("nothing left for \(annotator)")); break }
                let lines = next.stdout.split(separator: "\n").map(String.init)
                let item = lines[0], lease = String(lines[1].dropFirst("lease ".count))
                let stored = try CLI.run(["queue", "answer", "round1", "--annotator", annotator, "--item", item, "--lease", lease, "--label", truth[item]!, "--seconds", "2"], in: scratch.path)
                #expect(stored.exitCode == 0, "\(stored.stderr)")
            }
        }
        let show = try CLI.run(["queue", "show", "round1"], in: scratch.path)
        #expect(show.stdout.contains("11 of 11 items done (1 gold), 22 answers, 0 leased now, 0 flagged"))
        let table = show.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(table.contains(["annotator", "answers", "skips", "flags", "gold", "per", "hour", "median", "s", "agrees"]), "\(show.stdout)")
        for who in ["ana", "ben"] {
            // Eleven answers of 2 s each, every non-gold one matching the other annotator's; the pace depends on the clock.
            let row = try #require(table.first { $0.first == who }, "\(show.stdout)")
            #expect(row.count == 10 && row[1...4] == ["11", "0", "0", "1/1"] && Double(row[5]).map { $0 > 0 } == true && row[6...] == ["2.0", "100%", "of", "10"], "\(row)")
        }
        #expect(show.stdout.contains("answers/hour over the last hour, nothing left to answer; agreement 100% over 10 pairs"), "\(show.stdout)")
        #expect(try CLI.run(["queue", "list"], in: scratch.path).stdout.contains("round1  classify"))
        let export = try CLI.run(["queue", "export", "round1", "--out", "answers.jsonl"], in: scratch.path)
        #expect(export.stdout.hasPrefix("22 answers exported: 22 labels on 11 items written to answers.jsonl"))
        let validate = try CLI.run(["validate", "--labels", "answers.jsonl", "--format", "jsonl", "--images", "."], in: scratch.path)
        #expect(validate.exitCode == 0 && validate.stdout.contains("agreement of 2 annotators on 11 items: alpha 1.000"), "\(validate.stdout)\(validate.stderr)")
        // Errors: an unknown queue, a class outside the schema, an untracked item, a closed queue.
        #expect(try CLI.run(["queue", "next", "nope", "--annotator", "ana"], in: scratch.path).stderr.contains("no queue named nope (queues: round1)"))
        #expect(try CLI.run(["queue", "answer", "round1", "--annotator", "ana", "--item", goldPath, "--lease", "x", "--label", "eleven"], in: scratch.path).exitCode == 65)
        scratch.write("bad.jsonl", #"{"item": "images/none.png"}"# + "\n")
        #expect(try CLI.run(["queue", "create", "r2", "--from", "bad.jsonl"], in: scratch.path).stderr.contains("images/none.png: not a tracked file at HEAD"))
        #expect(try CLI.run(["queue", "close", "round1"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["queue", "next", "round1", "--annotator", "cleo"], in: scratch.path).stderr.contains("queue round1 is closed"))
    }

    /// Box queues check the batch's suggested boxes when they are created, not mid-session.
    @Test func badBoxSuggestionsAreRefusedAtCreate() throws {
        let scratch = ScratchDirectory()
        let digit = try scratch.copyDigits(1)[0]
        scratch.write("labels.csv", "path,label\n\(digit.path),\(digit.label)\n")
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        scratch.write("a.jsonl", #"{"item": "\#(digit.path)", "suggestion": {"boxes": [{"class": "dragon", "x": 1, "y": 1, "w": 2, "h": 2}]}}"# + "\n")
        let unknown = try CLI.run(["queue", "create", "b", "--task", "boxes", "--from", "a.jsonl"], in: scratch.path)
        #expect(unknown.exitCode == 65 && unknown.stderr.contains("\(digit.path): suggested box with class dragon, not a class of the schema"), "\(unknown.stderr)")
        scratch.write("b.jsonl", #"{"item": "\#(digit.path)", "suggestion": {"boxes": [{"class": "\#(digit.label)", "x": 1, "y": 1, "w": -2, "h": 2}]}}"# + "\n")
        let negative = try CLI.run(["queue", "create", "b", "--task", "boxes", "--from", "b.jsonl"], in: scratch.path)
        #expect(negative.exitCode == 65 && negative.stderr.contains("\(digit.path): suggested box needs finite x, y and positive w, h"))
        #expect(try CLI.run(["queue", "list"], in: scratch.path).stdout.contains("no queues"))
    }

    /// Attack 13: `queue answer` accepted answers without a lease, on another's lease, past the overlap, with
    /// NaN seconds (a raw SQLite error) and with empty or multi-line annotator names.
    @Test func answersKeepTheQueuesRules() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(3)
        scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"],
                     ["queue", "create", "q", "--paths", "images"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        func next(_ who: String) throws -> (item: String, lease: String) {
            let r = try CLI.run(["queue", "next", "q", "--annotator", who, "--json"], in: scratch.path)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
            return (object["item"]!, object["lease"]!)
        }
        func answer(_ who: String, _ item: String, _ lease: String, seconds: String = "1") throws -> CLIResult {
            try CLI.run(["queue", "answer", "q", "--annotator", who, "--item", item, "--lease", lease, "--label", digits[0].label, "--seconds", seconds], in: scratch.path)
        }
        let free = digits[2].path
        let noLease = try answer("ana", free, "whatever")
        #expect(noLease.exitCode == 64 && noLease.stderr == "error: \(free): ana holds no lease on it in queue q; lease it first with curate queue next\n", "\(noLease.stderr)")
        let ana = try next("ana")
        let onAnother = try answer("ben", ana.item, ana.lease)
        #expect(onAnother.exitCode == 64 && onAnother.stderr.contains("ben holds no lease on it in queue q (another annotator does)"))
        let wrongToken = try answer("ana", ana.item, "forged")
        #expect(wrongToken.exitCode == 64 && wrongToken.stderr.contains("the lease token does not match"))
        let nan = try answer("ana", ana.item, ana.lease, seconds: "nan")
        #expect(nan.exitCode == 64 && nan.stderr == "error: seconds spent must be a finite number of seconds ≥ 0, not nan\n", "\(nan.stderr)")
        #expect(try answer("ana", ana.item, ana.lease).exitCode == 0)
        // Overlap 1: the item is done; a second answer (by anyone, with any token) is refused.
        let again = try answer("ana", ana.item, ana.lease)
        #expect(again.exitCode == 64 && again.stderr.contains("ana has already answered it"))
        #expect(try answer("ben", ana.item, ana.lease).exitCode == 64)
        for bad in ["", "two\nlines", "a:b", " "] {
            let r = try CLI.run(["queue", "next", "q", "--annotator", bad], in: scratch.path)
            #expect(r.exitCode == 64 && r.stderr.contains("ids are one line of up to 100 characters, not empty, without control characters or ':'"), "\(bad): \(r.stderr)")
        }
        let show = try CLI.run(["queue", "show", "q", "--json"], in: scratch.path)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(report["answers"] as? Int == 1 && (report["annotators"] as? [[String: Any]])?.count == 1)
    }

    /// Attack 5: after a, r, a in a review queue, export wrote "0 answers on 0 items (3 skips or flags left out)";
    /// flag notes were stored but shown nowhere.
    @Test func reviewDecisionsAndFlagsAreExported() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(5)
        scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        scratch.write("batch.jsonl", digits.map { #"{"item": "\#($0.path)", "suggestion": {"class": "\#($0.label)", "confidence": 0.9}}"# + "\n" }.joined())
        #expect(try CLI.run(["queue", "create", "review1", "--task", "review", "--from", "batch.jsonl"], in: scratch.path).exitCode == 0)
        let repo = try SQLiteStore.open(curateDirectory: scratch.path + "/.curate")
        for answer in [#"{"review":"accept"}"#, #"{"review":"reject"}"#, #"{"review":"accept"}"#, #"{"flag":"blurry, maybe a 7"}"#, #"{"skip":true}"#] {
            let item = try #require(try repo.leaseNext("review1", annotator: "ana"))
            try repo.storeAnswer("review1", path: item.path, annotator: "ana", answer: answer, seconds: 1, lease: item.lease!)
        }
        let export = try CLI.run(["queue", "export", "review1", "--out", "accepted.jsonl", "--decisions", "decisions.jsonl"], in: scratch.path)
        #expect(export.exitCode == 0, "\(export.stderr)")
        #expect(export.stdout == "5 answers exported: 2 labels on 2 items written to accepted.jsonl (2 accepted, 1 rejected, 1 skipped, 1 flagged); 3 decisions written to decisions.jsonl\n", "\(export.stdout)")
        let labels = try String(contentsOfFile: scratch.path + "/accepted.jsonl", encoding: .utf8)
        #expect(labels.contains(#""path":"\#(digits[0].path)""#) && labels.contains(#""class":"\#(digits[0].label)""#) && labels.contains("annotator:ana"), "\(labels)")
        #expect(labels.contains(digits[2].path) && !labels.contains(digits[1].path))
        let decisions = try String(contentsOfFile: scratch.path + "/decisions.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(decisions.count == 3)
        #expect(decisions[0].contains(#""decision":"reject""#) && decisions[0].contains(digits[1].path))
        #expect(decisions[1].contains(#""decision":"flag""#) && decisions[1].contains(#""note":"blurry, maybe a 7""#))
        let show = try CLI.run(["queue", "show", "review1"], in: scratch.path)
        #expect(show.stdout.contains("1 flagged") && show.stdout.contains("flag: \(digits[3].path) (ana): blurry, maybe a 7"), "\(show.stdout)")
    }
}
