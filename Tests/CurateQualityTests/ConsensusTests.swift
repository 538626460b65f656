import CurateCore
@testable import CurateQuality
import CurateTestSupport
import Foundation
import Testing

/// The simulated crowd of scripts/make_quality_fixtures.py (20,000 tasks × 5 answers, 50 annotators: 40 honest,
/// 5 random, 5 constant) against crowd-kit 1.4.
@Suite struct ConsensusTests {
    struct Fixture {
        var crowd: Crowd
        var truth: [Int], crowdkit: [Int], majority: [Int]
        var kinds: [String]
    }

    static let fixture: Fixture = {
        let answers = try! NumpyArray(contentsOf: TestFixtures.path("CurateQuality", "crowd.npy"))
        let expected = try! NumpyArray(contentsOf: TestFixtures.path("CurateQuality", "crowd-expected.npy"))
        let meta = try! JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: TestFixtures.path("CurateQuality", "crowd.json"))!) as! [String: Any]
        let tasks = answers.shape[0], perTask = answers.shape[1]
        var crowd = Crowd(tasks: tasks, classes: meta["classes"] as! Int)
        for t in 0..<tasks {
            for s in 0..<perTask {
                let base = (t * perTask + s) * 2
                crowd.add(task: t, worker: Int(answers.values[base]), label: Int(answers.values[base + 1]))
            }
        }
        let row = { (r: Int) in (0..<tasks).map { Int(expected.values[r * tasks + $0]) } }
        return Fixture(crowd: crowd, truth: row(0), crowdkit: row(1), majority: row(2), kinds: meta["kinds"] as! [String])
    }()

    static func share(_ a: [Int], _ b: [Int]) -> Double { Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count) }

    @Test func dawidSkeneAgreesWithCrowdKit() {
        let f = Self.fixture
        let ds = f.crowd.dawidSkene()
        let agreement = Self.share(ds.labels, f.crowdkit)
        #expect(agreement >= 0.995, "agreement with crowd-kit \(agreement)")
        let accuracy = Self.share(ds.labels, f.truth), theirs = Self.share(f.crowdkit, f.truth)
        #expect(abs(accuracy - theirs) < 0.002, "accuracy \(accuracy) vs crowd-kit \(theirs)")
        #expect(accuracy > Self.share(f.crowd.majorityVote().labels, f.truth) + 0.05)
        #expect(ds.confusion.count == 50 && ds.posteriors.count == 20000 * 4)
    }

    @Test func majorityVoteMatchesCrowdKitExceptTies() {
        let f = Self.fixture
        let mv = f.crowd.majorityVote()
        // Without a tie they agree everywhere (crowd-kit breaks ties by the order labels first appear in its
        // data frame; Curate by voter quality, then the lowest class).
        let untied = (0..<20000).filter { t in (0..<4).filter { mv.posteriors[t * 4 + $0] == mv.confidence[t] }.count == 1 }
        #expect(untied.count > 15000)
        #expect(untied.allSatisfy { mv.labels[$0] == f.majority[$0] })
        // Quality weights only move tied tasks.
        let weighted = f.crowd.majorityVote(weights: (0..<50).map { f.kinds[$0] == "honest" ? 1 : 0 })
        #expect(Self.share(weighted.labels, f.truth) > Self.share(mv.labels, f.truth))
    }

    @Test func maceFindsTheSpammersAndTheTruth() {
        let f = Self.fixture
        let mace = f.crowd.mace()
        // MACE has no notion of systematic confusion (these honest workers' errors go to the next class), so it
        // trails Dawid-Skene here, but beats the vote.
        let accuracy = Self.share(mace.labels, f.truth)
        let vote = Self.share(f.crowd.majorityVote().labels, f.truth)
        #expect(accuracy > 0.9 && accuracy > vote, "MACE accuracy \(accuracy), majority vote \(vote)")
        let spammers = (0..<50).filter { f.kinds[$0] != "honest" }, honest = (0..<50).filter { f.kinds[$0] == "honest" }
        #expect(spammers.allSatisfy { mace.competence[$0] < 0.2 }, "spammer competence \(spammers.map { mace.competence[$0] })")
        #expect(honest.allSatisfy { mace.competence[$0] > 0.4 })
    }

    @Test func goldTasksStayFixed() {
        var crowd = Crowd(tasks: 3, classes: 2)
        for w in 0..<3 { crowd.add(task: 0, worker: w, label: 1); crowd.add(task: 1, worker: w, label: 0) }
        crowd.add(task: 2, worker: 0, label: 1)
        crowd.gold = [0: 0]
        // Gold says the unanimous "1" on task 0 is wrong; the estimators keep it at 0 whatever the votes.
        let ds = crowd.dawidSkene()
        #expect(ds.labels[0] == 0 && ds.confidence[0] == 1)
        #expect(crowd.majorityVote().labels == [0, 0, 1])
        #expect(crowd.mace().labels[0] == 0)
        #expect(Crowd(tasks: 2, classes: 2).majorityVote().labels == [-1, -1])
    }
}

@Suite struct AnnotatorReportTests {
    /// Every simulated spammer (random and constant) is marked likely spam, no honest annotator is.
    @Test func spammersAreFoundAndHonestWorkersAreNot() {
        let f = ConsensusTests.fixture
        let report = AnnotatorReport(crowd: f.crowd, consensus: f.crowd.dawidSkene())
        #expect(report.annotators.count == 50)
        for a in report.annotators {
            if f.kinds[a.worker] == "honest" {
                #expect(a.verdict != .likelySpam, "honest worker \(a.worker): \(a.evidence)")
            } else {
                #expect(a.verdict == .likelySpam, "\(f.kinds[a.worker]) worker \(a.worker): \(a.evidence), kappa \(a.kappa)")
            }
        }
        // Constant spammers are told apart by their answers, not only by chance agreement.
        let constant = report.annotators.filter { f.kinds[$0.worker] == "constant" }
        #expect(constant.allSatisfy { $0.entropy == 0 && $0.evidence.contains { $0.contains("answers one class 100%") } })
        #expect(report.metrics["spam"] == 10)
    }

    @Test func speedAndConfusionAreEvidence() {
        // Two careful workers and one who answers in a tenth of the time; one careful worker reads 1 as 2.
        var crowd = Crowd(tasks: 60, classes: 3)
        var seconds: [Double?] = []
        for t in 0..<60 {
            let truth = t % 3
            crowd.add(task: t, worker: 0, label: truth); seconds.append(10)
            crowd.add(task: t, worker: 1, label: truth == 1 ? 2 : truth); seconds.append(12)
            crowd.add(task: t, worker: 2, label: truth); seconds.append(1)
            crowd.add(task: t, worker: 3, label: truth); seconds.append(9)
        }
        let report = AnnotatorReport(crowd: crowd, consensus: crowd.dawidSkene(), seconds: seconds)
        #expect(report.annotators[2].verdict == .likelySpam)
        #expect(report.annotators[2].evidence.contains { $0.hasPrefix("median 1.00 s per item against the team's") })
        #expect(report.annotators[1].verdict == .review)
        #expect(report.annotators[1].evidence.contains { $0.contains("reads class 1 as 2") })
        #expect(report.annotators[0].verdict == .trusted && report.annotators[3].verdict == .trusted)
    }
}
