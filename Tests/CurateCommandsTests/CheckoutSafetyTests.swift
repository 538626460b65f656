import CurateCore
import CurateTestSupport
import Foundation
import Testing

/// Attacks on checkout and augment: symlinks inside the destination, `.curate` as a destination, kills.
@Suite struct CheckoutSafetyTests {
    func digitsRepository(_ count: Int) throws -> ScratchDirectory {
        try digitsRepositoryWithPaths(count).0
    }

    func digitsRepositoryWithPaths(_ count: Int) throws -> (ScratchDirectory, [String]) {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(count)
        scratch.write("labels.csv", "path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "digits", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        return (scratch, digits.map(\.path))
    }

    /// An in-place checkout of HEAD~1 is remembered: status says so, and going back to HEAD needs no --force —
    /// unless something was changed since, which is refused and named.
    @Test func checkoutTracksWhatIsCheckedOut() throws {
        let (scratch, paths) = try digitsRepositoryWithPaths(6)
        try FileManager.default.removeItem(atPath: scratch.path + "/" + paths[0])
        scratch.write("relabel.csv", "path,label\n\(paths[1]),9\n")
        for args in [["add", "images", "--labels", "relabel.csv", "--format", "csv"], ["commit", "-m", "drop one, relabel one", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        let back = try CLI.run(["checkout", "HEAD~1"], in: scratch.path)
        #expect(back.exitCode == 0 && back.stdout.contains(": 1 file written"), "\(back.stdout)\(back.stderr)")
        let status = try CLI.run(["status"], in: scratch.path).stdout
        #expect(status.contains("working tree checked out from ") && status.contains("added:     \(paths[0])") && status.contains("labels:    \(paths[1])"), "\(status)")
        // Back to HEAD: no --force needed, and the tree is clean again.
        let forth = try CLI.run(["checkout", "HEAD"], in: scratch.path)
        #expect(forth.exitCode == 0, "\(forth.stderr)")
        #expect(try CLI.run(["status"], in: scratch.path).stdout.hasSuffix("nothing to commit, working tree and labels match\n"))
        // Changed after the checkout: that change is protected.
        #expect(try CLI.run(["checkout", "HEAD~1"], in: scratch.path).exitCode == 0)
        scratch.write(paths[2], "not a png any more")
        let refused = try CLI.run(["checkout", "HEAD"], in: scratch.path)
        #expect(refused.exitCode != 0 && refused.stderr.contains("uncommitted changes to 1 path(s): \(paths[2])"), "\(refused.stderr)")
        // A commit of the checked-out state clears the record.
        #expect(try CLI.run(["commit", "-m", "revert", "--author", "t"], in: scratch.path).exitCode == 0)
        #expect(!(try CLI.run(["status"], in: scratch.path).stdout.contains("checked out from")))
    }

    /// `checkout --to DIR` writes the labels beside the files, in the format asked, for the files written.
    @Test func checkoutToAFolderWritesTheLabelsToo() throws {
        let (scratch, paths) = try digitsRepositoryWithPaths(6)
        let out = ScratchDirectory()
        let plain = try CLI.run(["checkout", "HEAD", "--to", out.path + "/all"], in: scratch.path)
        #expect(plain.stdout.hasSuffix(": 6 files written; labels of 6 items (6 annotations) in \(out.path)/all/labels.jsonl (jsonl)\n"), "\(plain.stdout)")
        let csv = try String(contentsOfFile: out.path + "/all/labels.jsonl", encoding: .utf8)
        #expect(paths.allSatisfy { csv.contains(#""path":"\#($0)""#) })
        let folder = paths[0].split(separator: "/").dropLast().joined(separator: "/")
        // COCO holds objects only: refused before any file is written.
        let coco = try CLI.run(["checkout", "HEAD", "--to", out.path + "/coco", "--labels-format", "coco"], in: scratch.path)
        #expect(coco.exitCode == 65 && coco.stderr.contains("COCO holds objects only"), "\(coco.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: out.path + "/coco")) ?? []).isEmpty)
        let part = try CLI.run(["checkout", "HEAD", "--to", out.path + "/part", "--paths", folder, "--labels-format", "csv"], in: scratch.path)
        #expect(part.exitCode == 0, "\(part.stderr)")
        let rows = try String(contentsOfFile: out.path + "/part/labels.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty && rows.allSatisfy { $0.hasPrefix(folder + "/") && FileManager.default.fileExists(atPath: out.path + "/part/" + $0.split(separator: ",")[0]) })
        let none = try CLI.run(["checkout", "HEAD", "--to", out.path + "/files", "--no-labels"], in: scratch.path)
        #expect(none.stdout.hasSuffix(": 6 files written\n") && !FileManager.default.fileExists(atPath: out.path + "/files/labels.jsonl"))
        #expect(try CLI.run(["checkout", "HEAD", "--no-labels"], in: scratch.path).exitCode == 64)
    }

    /// Attack 4: `checkout --to DIR --force` followed a symlinked folder inside DIR and wrote outside it.
    @Test func checkoutNeverWritesThroughALinkInTheDestination() throws {
        let (scratch, paths) = try digitsRepositoryWithPaths(10)
        let outside = ScratchDirectory()
        let destination = scratch.path + "/../" + URL(fileURLWithPath: scratch.path).lastPathComponent + "-out"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: destination) }
        #expect(symlink(outside.path, destination + "/images") == 0)
        let result = try CLI.run(["checkout", "HEAD", "--to", destination, "--force"], in: scratch.path)
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("/images: is a symbolic link or a file, not a folder; checkout never writes through links"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty, "wrote outside the destination")
        // A link in place of a file is replaced by the file, never written through.
        try FileManager.default.removeItem(atPath: destination + "/images")
        let first = paths[0]
        try FileManager.default.createDirectory(atPath: destination + "/" + (first as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        outside.write("victim.png", "precious")
        #expect(symlink(outside.path + "/victim.png", destination + "/" + first) == 0)
        #expect(try CLI.run(["checkout", "HEAD", "--to", destination, "--force"], in: scratch.path).exitCode == 0)
        #expect(try String(contentsOfFile: outside.path + "/victim.png", encoding: .utf8) == "precious")
        var st = stat()
        #expect(lstat(destination + "/" + first, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG)
    }

    /// Attack 4: `--to .curate/x` and `--to .curate --force` wrote into the store.
    @Test(arguments: [".curate/x", ".curate", ".curate/packs"])
    func checkoutRefusesToWriteIntoTheStore(_ target: String) throws {
        let scratch = try digitsRepository(5)
        let before = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/.curate").sorted()
        let result = try CLI.run(["checkout", "HEAD", "--to", target, "--force"], in: scratch.path)
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("which Curate manages itself; choose a folder outside it (nothing was written)"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/.curate").sorted().filter { $0 != "x" } == before.filter { $0 != "x" })
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/.curate/images"))
        #expect(try CLI.run(["fsck"], in: scratch.path).exitCode == 0)
    }

    /// Attack 14: a killed in-place checkout left `.tmp-*` files that the next add committed, and a rerun refused
    /// because the files already restored looked like changes.
    @Test func aKilledCheckoutIsFinishedByItsRerun() throws {
        let (scratch, images) = try digitsRepositoryWithPaths(300)
        // v2: every image replaced by another's bytes.
        for (k, name) in images.enumerated() {
            let other = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/" + images[(k + 1) % images.count]))
            try (other + Data([UInt8(k % 256)])).write(to: URL(fileURLWithPath: scratch.path + "/" + name))
        }
        #expect(try CLI.run(["add", "images"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "v2", "--author", "t"], in: scratch.path).exitCode == 0)
        var rng = SplitMix64(seed: 11)
        for attempt in 0..<4 {
            let process = try CLI.start(["checkout", "HEAD~1"], in: scratch.path)
            usleep(UInt32(20_000 + Int(rng.next() % 150_000)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Whatever instant the kill hit, a temporary file a checkout leaves is never tracked.
            let folder = (images[0] as NSString).deletingLastPathComponent
            scratch.write(folder + "/.curate-tmp-left-by-attempt-\(attempt)", "partial")
            let status = try CLI.run(["status"], in: scratch.path)
            #expect(!status.stdout.contains(".curate-tmp-"), "\(status.stdout)")
            // The rerun of the same checkout finishes it without --force, and removes the leftover.
            let rerun = try CLI.run(["checkout", "HEAD~1"], in: scratch.path)
            #expect(rerun.exitCode == 0, "attempt \(attempt): \(rerun.stderr)")
            #expect(!FileManager.default.fileExists(atPath: scratch.path + "/" + folder + "/.curate-tmp-left-by-attempt-\(attempt)"))
            let diff = try CLI.run(["diff", "HEAD~1", "--stat"], in: scratch.path)
            #expect(diff.stdout.contains("files: 0 added, 0 removed, 0 modified, 0 renamed\nlabels: 0 items changed"), "attempt \(attempt): \(diff.stdout)")
            #expect(try CLI.run(["checkout", "HEAD", "--force"], in: scratch.path).exitCode == 0)
        }
        // Real uncommitted work is still protected.
        scratch.write(images[0], "my edit")
        let refused = try CLI.run(["checkout", "HEAD~1"], in: scratch.path)
        #expect(refused.exitCode == 64 && refused.stderr.contains("would overwrite uncommitted changes to 1 path(s): \(images[0])"), "\(refused.stderr)")
    }

    /// Attack 14: a killed `augment --commit` left a complete --out that blocked the rerun without saying why.
    @Test func aRerunOfAKilledAugmentCommitFinishesIt() throws {
        let scratch = ScratchDirectory()
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
        for args in [["init"], ["add", "images", "--labels", "labels.coco.json", "--format", "coco"], ["commit", "-m", "photos", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        let pipeline = TestFixtures.repoPath("workflows/augment-photos.yaml")
        // The state a kill between writing the outputs and committing leaves: run without --commit.
        #expect(try CLI.run(["augment", "--pipeline", pipeline, "--copies", "1", "--seed", "7", "--out", "aug"], in: scratch.path).exitCode == 0)
        let rerun = try CLI.run(["augment", "--pipeline", pipeline, "--copies", "1", "--seed", "7", "--out", "aug", "--commit", "-m", "aug"], in: scratch.path)
        #expect(rerun.exitCode == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("already holds this augmentation") && rerun.stdout.contains("committed the outputs"), "\(rerun.stdout)")
        #expect(try CLI.run(["log", "-n", "1"], in: scratch.path).stdout.contains("aug"))
        let other = try CLI.run(["augment", "--pipeline", pipeline, "--copies", "1", "--seed", "8", "--out", "aug"], in: scratch.path)
        #expect(other.exitCode == 64 && other.stderr.contains("aug: already holds the outputs of another augmentation (seed 7); choose a new --out"), "\(other.stderr)")
        try FileManager.default.removeItem(atPath: scratch.path + "/aug/lineage.jsonl")
        let partial = try CLI.run(["augment", "--pipeline", pipeline, "--copies", "1", "--seed", "7", "--out", "aug"], in: scratch.path)
        #expect(partial.exitCode == 64 && partial.stderr.contains("holds an incomplete augmentation (no lineage.jsonl"), "\(partial.stderr)")
    }
}
