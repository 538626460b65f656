import CurateRemote
import CurateTestSupport
import CurateVersioning
import Foundation
import Testing

/// Sharing a dataset through remotes, end to end through the `curate` binary: against a real S3-compatible server
/// that enforces signatures (moto, started by the tests) and against a folder (`file://`); every test runs on both.
@Suite struct RemoteCommandTests {
    enum Kind: String, CaseIterable, Sendable { case s3, folder }

    /// A fresh remote of one kind: its URL, the extra `remote add` / `clone` arguments and the environment.
    struct Place {
        var url: String
        var arguments: [String]
        var environment: [String: String]
        var storage: any RemoteStorage
        var scratch: ScratchDirectory
    }

    static func place(_ kind: Kind) throws -> Place {
        let scratch = ScratchDirectory()
        switch kind {
        case .folder:
            let url = "file://" + scratch.path + "/remote"
            return Place(url: url, arguments: [], environment: [:], storage: FolderStorage(root: scratch.path + "/remote"), scratch: scratch)
        case .s3:
            let server = try S3Server.shared.get()
            let bucket = S3Server.newBucketName()
            let client = S3Client(endpoint: URL(string: server.endpoint)!, bucket: bucket, pathStyle: true,
                                  signer: SigV4(credentials: AWSCredentials(accessKeyID: server.accessKeyID, secretAccessKey: server.secretAccessKey), region: "us-east-1"))
            try client.createBucket()
            return Place(url: "s3://\(bucket)/datasets/photos", arguments: ["--endpoint", server.endpoint], environment: server.environment,
                         storage: S3Storage(client: client, prefix: "datasets/photos"), scratch: scratch)
        }
    }

    /// Runs curate and expects `code`.
    @discardableResult
    static func curate(_ args: [String], in folder: String, _ place: Place, expect code: Int32 = 0,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let r = try CLI.run(args, in: folder, environment: place.environment)
        #expect(r.exitCode == code, "curate \(args.joined(separator: " ")): \(r.stderr)", sourceLocation: sourceLocation)
        return r
    }

    /// The bundled photos with their COCO labels and an empty file, committed, with `origin` added.
    static func source(_ place: Place) throws -> String {
        let folder = place.scratch.path + "/source"
        try FileManager.default.createDirectory(atPath: folder + "/images", withIntermediateDirectories: true)
        let photos = TestFixtures.repoPath("datasets/photos")
        for name in try FileManager.default.contentsOfDirectory(atPath: photos + "/images").sorted() {
            try FileManager.default.copyItem(atPath: photos + "/images/" + name, toPath: folder + "/images/" + name)
        }
        try FileManager.default.copyItem(atPath: photos + "/labels.coco.json", toPath: folder + "/labels.coco.json")
        // An empty file travels too (an object of no bytes).
        _ = FileManager.default.createFile(atPath: folder + "/images/empty.txt", contents: Data())
        try curate(["init"], in: folder, place)
        try curate(["add", "images", "--labels", "labels.coco.json", "--format", "coco"], in: folder, place)
        try curate(["commit", "-m", "photos", "--author", "ana"], in: folder, place)
        try curate(["remote", "add", "origin", place.url] + place.arguments, in: folder, place)
        return folder
    }

    static func files(_ folder: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)!
        while let item = enumerator.nextObject() as? String {
            if item.hasPrefix(".curate") { enumerator.skipDescendants(); continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + item, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[item] = FileManager.default.contents(atPath: folder + "/" + item)
            }
        }
        return result
    }

    @Test(arguments: Kind.allCases) func pushCloneFetchPull(_ kind: Kind) throws {
        let place = try Self.place(kind)
        let source = try Self.source(place)
        try Self.curate(["tag", "v1"], in: source, place)
        #expect(try Self.curate(["status", "--remote", "origin"], in: source, place).stdout.contains("origin is empty: a push sends 1 commit(s)"))
        let pushed = try Self.curate(["push", "--tags", "--json"], in: source, place)
        #expect(pushed.stdout.contains("\"upToDate\" : false"))
        // Twice: nothing to send.
        let again = try Self.curate(["push"], in: source, place)
        #expect(again.stdout.contains("origin is up to date at"))

        let clone = place.scratch.path + "/clone"
        try Self.curate(["clone", place.url, clone] + place.arguments, in: place.scratch.path, place)
        let (a, b) = (try Repository.open(at: source), try Repository.open(at: clone))
        #expect(try a.head() == b.head())  // the same commit id: the same trees, labels and schema
        #expect(try a.labels(at: "HEAD") == b.labels(at: "HEAD"))
        #expect(try Self.files(clone)["images/" + "astronaut.jpg"] == Self.files(source)["images/astronaut.jpg"])
        #expect(try Self.files(clone).filter { $0.key.hasPrefix("images/") } == Self.files(source).filter { $0.key.hasPrefix("images/") })
        #expect(try Self.curate(["status"], in: clone, place).stdout.contains("nothing to commit"))
        #expect(try Self.curate(["tag"], in: clone, place).stdout.hasPrefix("v1\t"))  // the remote's tags arrive as tags
        #expect(try Self.curate(["status", "--remote", "origin"], in: clone, place).stdout.contains("up to date with HEAD"))
        #expect(try Self.curate(["fsck"], in: clone, place).stdout.contains("no problems"))
        #expect(try Self.curate(["fsck", "--remote", "origin", "--deep"], in: clone, place).stdout.contains("no problems"))

        // A new commit travels: fetch shows it as origin/main, pull brings files and labels.
        try FileManager.default.removeItem(atPath: source + "/images/astronaut.jpg")
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/digits/images/0/" + (try FileManager.default.contentsOfDirectory(atPath: TestFixtures.repoPath("datasets/digits/images/0")).sorted()[0])),
                                         toPath: source + "/images/digit.png")
        try Self.curate(["commit", "-m", "swap one", "--author", "ana"], in: source, place)
        #expect(try Self.curate(["status", "--remote", "origin"], in: source, place).stdout.contains("HEAD is 1 commit(s) ahead"))
        try Self.curate(["push", "--tags"], in: source, place)
        #expect(try Self.curate(["status", "--remote", "origin"], in: clone, place).stdout.contains("has not fetched"))
        let fetched = try Self.curate(["fetch"], in: clone, place)
        #expect(fetched.stdout.contains("1 new commit(s)"))
        #expect(try Self.curate(["status", "--remote", "origin"], in: clone, place).stdout.contains("HEAD is 1 commit(s) behind"))
        #expect(try Self.curate(["log", "origin/main"], in: clone, place).stdout.contains("swap one"))
        let diff = try Self.curate(["diff", "HEAD", "origin/main"], in: clone, place)
        #expect(diff.stdout.contains("A  images/digit.png"))
        #expect(diff.stdout.contains("D  images/astronaut.jpg"))
        #expect(FileManager.default.fileExists(atPath: clone + "/images/astronaut.jpg"))  // fetch leaves the files
        try Self.curate(["pull"], in: clone, place)
        #expect(try Repository.open(at: clone).head() == Repository.open(at: source).head())
        #expect(!FileManager.default.fileExists(atPath: clone + "/images/astronaut.jpg"))
        #expect(try Self.files(clone)["images/digit.png"] == Self.files(source)["images/digit.png"])
        #expect(try Self.curate(["status"], in: clone, place).stdout.contains("nothing to commit"))
        #expect(try Repository.open(at: clone).labels(at: "HEAD") == Repository.open(at: source).labels(at: "HEAD"))
        #expect(try Self.curate(["pull"], in: clone, place).stdout.contains("already up to date"))
    }

    @Test(arguments: Kind.allCases) func concurrentPushesLoseNothing(_ kind: Kind) throws {
        let place = try Self.place(kind)
        let source = try Self.source(place)
        try Self.curate(["push", "-q"], in: source, place)
        let (ana, ben) = (place.scratch.path + "/ana", place.scratch.path + "/ben")
        try Self.curate(["clone", place.url, ana] + place.arguments, in: place.scratch.path, place)
        try Self.curate(["clone", place.url, ben] + place.arguments, in: place.scratch.path, place)
        try Data("ana's notes".utf8).write(to: URL(fileURLWithPath: ana + "/images/ana.txt"))
        try Data("ben's notes".utf8).write(to: URL(fileURLWithPath: ben + "/images/ben.txt"))
        try Self.curate(["commit", "-m", "ana's work", "--author", "ana"], in: ana, place)
        try Self.curate(["commit", "-m", "ben's work", "--author", "ben"], in: ben, place)
        // Both push at once: one wins, the other is told to fetch first.
        final class Results: @unchecked Sendable { var byName: [String: CLIResult] = [:]; let lock = NSLock() }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let folder = i == 0 ? ana : ben
            if let r = try? CLI.run(["push", "-q"], in: folder, environment: place.environment) { results.lock.withLock { results.byName[folder] = r } }
        }
        let codes = results.byName.values.map(\.exitCode).sorted()
        #expect(codes == [0, 75], "\(results.byName.mapValues(\.stderr))")
        guard let loser = results.byName.first(where: { $0.value.exitCode == 75 }) else { return }
        #expect(loser.value.stderr.contains("fetch first"))
        #expect(loser.value.stderr.split(separator: "\n").count == 1)
        let winner = loser.key == ana ? ben : ana
        // The loser's commit is intact; after fetch it rebases onto the winner's and pushes: both commits are there.
        try Self.curate(["fetch", "-q"], in: loser.key, place)
        try Self.curate(["pull", "--rebase", "-q"], in: loser.key, place)
        try Self.curate(["push", "-q"], in: loser.key, place)
        try Self.curate(["pull", "-q"], in: winner, place)
        let log = try Self.curate(["log"], in: winner, place).stdout
        #expect(log.contains("ana's work") && log.contains("ben's work"))
        #expect(FileManager.default.fileExists(atPath: winner + "/images/ana.txt") && FileManager.default.fileExists(atPath: winner + "/images/ben.txt"))
        #expect(try Self.curate(["fsck", "--remote", "origin", "--deep"], in: winner, place).stdout.contains("no problems"))
    }

    @Test(arguments: Kind.allCases) func killedPushesResumeWithoutResending(_ kind: Kind) throws {
        let place = try Self.place(kind)
        let folder = place.scratch.path + "/many"
        try FileManager.default.createDirectory(atPath: folder + "/files", withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 3000 * 4096)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        for i in 0..<3000 { try Data(bytes[(i * 4096)..<((i + 1) * 4096)]).write(to: URL(fileURLWithPath: folder + "/files/\(i).bin")) }
        for args in [["init"], ["add", "files"], ["commit", "-m", "many", "--author", "ana"], ["remote", "add", "origin", place.url] + place.arguments] {
            try Self.curate(args, in: folder, place)
        }
        // 12 MB in 32 KiB packs: about 375 packs, each a request or two.
        let push = ["push", "-q", "--json", "--pack-size", "32768", "--jobs", "2"]
        // Killed three times once it has sent something more, at a random instant after that; each run may leave
        // whole packs, a pack without its index, an upload cut midway. None of them gets as far as the ref.
        var seen: [Int] = [0]
        for _ in 0..<3 {
            let process = try CLI.start(push, in: folder, environment: place.environment)
            var polls = 0
            while polls < 3000, try place.storage.list(prefix: "packs/").filter({ $0.hasSuffix(".idx") }).count <= seen.last! {
                Thread.sleep(forTimeInterval: 0.01)
                polls += 1
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.1))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            seen.append(try place.storage.list(prefix: "packs/").filter { $0.hasSuffix(".idx") }.count)
        }
        #expect(try place.storage.get("refs/main", range: nil) == nil, "a killed push moved the ref")
        let there = try place.storage.list(prefix: "packs/").filter { $0.hasSuffix(".idx") }.count
        #expect(there > 0, "the kills came before any pack was sent: \(seen)")
        let r = try Self.curate(push, in: folder, place)
        let report = try JSONDecoder().decode(RemoteSync.PushReport.self, from: Data(r.stdout.utf8))
        // Every pack that had arrived whole was found, not sent again; the others were sent once.
        #expect(report.packsResumed == there, "indexes on the remote before the last push: \(there); \(report)")
        #expect(report.packsSent + report.packsResumed >= 3000 * 4096 / 32768)
        #expect(try place.storage.list(prefix: "packs/").filter { $0.hasSuffix(".idx") }.count == report.packsSent + report.packsResumed)
        #expect(try Self.curate(["fsck", "--remote", "origin", "--deep"], in: folder, place).stdout.contains("no problems"))
        let clone = place.scratch.path + "/clone"
        try Self.curate(["clone", place.url, clone] + place.arguments, in: place.scratch.path, place)
        #expect(try Self.files(clone).filter { $0.key.hasPrefix("files/") } == Self.files(folder).filter { $0.key.hasPrefix("files/") })
    }

    @Test(arguments: Kind.allCases) func damagedRemoteObjectIsRefusedByName(_ kind: Kind) throws {
        let place = try Self.place(kind)
        let source = try Self.source(place)
        try Self.curate(["push", "-q"], in: source, place)
        let clone = place.scratch.path + "/clone"
        try Self.curate(["clone", place.url, clone] + place.arguments, in: place.scratch.path, place)
        // A new commit, whose pack is then damaged on the remote by hand.
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/digits/images/1/" + (try FileManager.default.contentsOfDirectory(atPath: TestFixtures.repoPath("datasets/digits/images/1")).sorted()[0])),
                                         toPath: source + "/images/one.png")
        try Self.curate(["commit", "-m", "one more", "--author", "ana"], in: source, place)
        let before = Set(try place.storage.list(prefix: "packs/"))
        try Self.curate(["push", "-q"], in: source, place)
        let newPack = try #require(Set(try place.storage.list(prefix: "packs/")).subtracting(before).first { $0.hasSuffix(".pack") })
        var bytes = try #require(try place.storage.get(newPack, range: nil)).data
        bytes[bytes.count / 2] ^= 0xFF
        try place.storage.put(newPack, bytes, condition: .none)

        let head = try Repository.open(at: clone).head()
        let packs = try FileManager.default.contentsOfDirectory(atPath: clone + "/.curate/packs").sorted()
        let pull = try Self.curate(["pull", "-q"], in: clone, place, expect: 65)
        #expect(pull.stderr.contains(newPack))
        #expect(pull.stderr.contains("damaged"))
        #expect(pull.stderr.split(separator: "\n").count == 1)
        #expect(try Repository.open(at: clone).head() == head)
        #expect(try FileManager.default.contentsOfDirectory(atPath: clone + "/.curate/packs").sorted() == packs)  // nothing written
        #expect(!FileManager.default.fileExists(atPath: clone + "/images/one.png"))
        // A new clone fails the same way and leaves no folder behind.
        let second = place.scratch.path + "/second"
        let failed = try Self.curate(["clone", place.url, second] + place.arguments, in: place.scratch.path, place, expect: 65)
        #expect(failed.stderr.contains(newPack))
        #expect(!FileManager.default.fileExists(atPath: second))
        // fsck --remote --deep names it too.
        let check = try Self.curate(["fsck", "--remote", "origin", "--deep"], in: clone, place, expect: 65)
        #expect(check.stderr.contains(newPack))
    }

    @Test(arguments: Kind.allCases) func partialClonesFetchFilesOnDemand(_ kind: Kind) throws {
        let place = try Self.place(kind)
        let source = place.scratch.path + "/source"
        _ = try place.scratch.copyDigits(40)
        try FileManager.default.moveItem(atPath: place.scratch.path + "/images", toPath: place.scratch.path + "/tmp-images")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: place.scratch.path + "/tmp-images", toPath: source + "/images")
        for args in [["init"], ["add", "images"], ["commit", "-m", "digits", "--author", "ana"], ["remote", "add", "origin", place.url] + place.arguments, ["push", "-q"]] {
            try Self.curate(args, in: source, place)
        }
        let all = try Self.files(source)
        let sevens = all.keys.filter { $0.hasPrefix("images/7/") }
        #expect(!sevens.isEmpty)

        // --paths: only that folder's files (and blobs) come.
        let partial = place.scratch.path + "/partial"
        try Self.curate(["clone", place.url, partial, "--paths", "images/7"] + place.arguments, in: place.scratch.path, place)
        #expect(Set(try Self.files(partial).keys) == Set(sevens))
        let repo = try Repository.open(at: partial)
        let blobs = try repo.files(at: "HEAD")
        #expect(try repo.missing(blobs.filter { $0.path.hasPrefix("images/7/") }.map(\.hash)).isEmpty)
        #expect(try repo.missing(blobs.filter { $0.path.hasPrefix("images/3/") }.map(\.hash)).count == blobs.filter { $0.path.hasPrefix("images/3/") }.count)
        #expect(try Self.curate(["status"], in: partial, place).stdout.contains("nothing to commit"))
        #expect(try Self.curate(["fsck"], in: partial, place).stdout.contains("no problems"))
        // Checking out another folder fetches its files then.
        try Self.curate(["checkout", "HEAD", "--paths", "images/3"], in: partial, place)
        #expect(try Self.files(partial).filter { $0.key.hasPrefix("images/3/") } == all.filter { $0.key.hasPrefix("images/3/") })
        #expect(try repo.missing(blobs.filter { $0.path.hasPrefix("images/3/") }.map(\.hash)).isEmpty)
        #expect(try repo.missing(blobs.filter { $0.path.hasPrefix("images/5/") }.map(\.hash)).count > 0)
        // A commit in the partial clone keeps the files it never checked out.
        try Data("note".utf8).write(to: URL(fileURLWithPath: partial + "/images/7/note.txt"))
        try Self.curate(["commit", "-m", "a note", "--author", "ben"], in: partial, place)
        #expect(try repo.files(at: "HEAD").count == blobs.count + 1)
        try Self.curate(["push", "-q"], in: partial, place)
        try Self.curate(["pull", "-q"], in: source, place)
        #expect(FileManager.default.fileExists(atPath: source + "/images/7/note.txt"))
        #expect(try Self.files(source).count == all.count + 1)

        // --no-blobs: no files; augment of a revision reads what it needs from the remote.
        let bare = place.scratch.path + "/bare"
        try Self.curate(["clone", place.url, bare, "--no-blobs"] + place.arguments, in: place.scratch.path, place)
        #expect(try Self.files(bare).isEmpty)
        #expect(try Self.curate(["status"], in: bare, place).stdout.contains("nothing to commit"))
        place.scratch.write("flip.yaml", "transforms:\n  - HorizontalFlip: {p: 1}\n")
        try Self.curate(["augment", "--rev", "HEAD", "--paths", "images/1", "--pipeline", place.scratch.path + "/flip.yaml", "--out", place.scratch.path + "/augmented"], in: bare, place)
        #expect(try Self.files(place.scratch.path + "/augmented").keys.contains { $0.hasSuffix(".png") })
        // inspect names a file that was never checked out: it is fetched, checked out and inspected.
        let one = try #require(all.keys.sorted().first { $0.hasPrefix("images/2/") })
        let inspected = try Self.curate(["inspect", one], in: bare, place)
        #expect(inspected.stdout.contains("PNG"))
        #expect(try Self.files(bare).keys.sorted() == [one])
        #expect(try Self.curate(["status"], in: bare, place).stdout.contains("nothing to commit"))
    }

    @Test func wrongCredentialsChangeNothing() throws {
        let place = try Self.place(.s3)
        let source = try Self.source(place)
        var wrong = place
        wrong.environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let head = try Repository.open(at: source).head()
        let push = try Self.curate(["push"], in: source, wrong, expect: 69)
        #expect(push.stderr.contains("access denied (SignatureDoesNotMatch)"))
        #expect(push.stderr.split(separator: "\n").count == 1)
        #expect(!push.stderr.contains("not-the-secret"))
        #expect(try Repository.open(at: source).refs(prefix: "remote/").isEmpty)
        #expect(try Repository.open(at: source).head() == head)
        #expect(!FileManager.default.fileExists(atPath: source + "/.curate/remotes/origin/idx"))
        let clone = try Self.curate(["clone", place.url, place.scratch.path + "/c"] + place.arguments, in: place.scratch.path, wrong, expect: 69)
        #expect(clone.stderr.contains("access denied"))
        #expect(!FileManager.default.fileExists(atPath: place.scratch.path + "/c"))
        // No credentials at all: one line saying where they come from.
        var none = place
        none.environment["AWS_ACCESS_KEY_ID"] = ""
        let missing = try Self.curate(["push"], in: source, none, expect: 69)
        #expect(missing.stderr.contains("no AWS credentials"))
        // The secret never lands in the repository.
        let remotes = try String(contentsOfFile: source + "/.curate/remotes.json", encoding: .utf8)
        #expect(!remotes.contains(try S3Server.shared.get().secretAccessKey))
    }
}
