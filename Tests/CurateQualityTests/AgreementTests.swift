@testable import CurateQuality
import CurateTestSupport
import Foundation
import Testing

private struct AgreementFixture: Decodable {
    var ratings: [[Int?]]
    var cohen_kappa_0_1: Double
    var fleiss_kappa_complete: Double
    var alpha_nominal: Double
    var alpha_interval: Double
    var fleiss1971_kappa: Double
    var fleiss1971_alpha_nominal: Double
}

/// 200 items × 4 raters with 10% missing (scripts/make_quality_fixtures.py) against scikit-learn, statsmodels and
/// the krippendorff package, and Fleiss' 1971 diagnoses against the published kappa.
@Suite struct AgreementTests {
    private static func load() throws -> AgreementFixture {
        let data = try #require(FileManager.default.contents(atPath: TestFixtures.path("CurateQuality", "agreement.json")))
        return try JSONDecoder().decode(AgreementFixture.self, from: data)
    }

    @Test func equalsThePeersOnRatingsWithMissingValues() throws {
        let f = try Self.load()
        let ratings = Ratings(categories: f.ratings)
        #expect(abs(try #require(ratings.krippendorffAlpha(.nominal)) - f.alpha_nominal) < 1e-9)
        #expect(abs(try #require(ratings.krippendorffAlpha(.interval)) - f.alpha_interval) < 1e-9)
        #expect(abs(try #require(ratings.cohenKappa(0, 1)) - f.cohen_kappa_0_1) < 1e-9)
        #expect(abs(try #require(ratings.fleissKappa()) - f.fleiss_kappa_complete) < 1e-9)
    }

    @Test func fleiss1971DiagnosesGiveThePublishedKappa() throws {
        let text = try String(contentsOfFile: TestFixtures.path("CurateQuality", "fleiss1971.csv"), encoding: .utf8)
        let rows = text.split(separator: "\n").map { $0.split(separator: ",").map { Int($0)! } }
        #expect(rows.count == 30 && rows.allSatisfy { $0.count == 6 })
        // Rows are patients, columns psychiatrists: transpose to raters × items.
        let ratings = Ratings(categories: (0..<6).map { r in rows.map { $0[r] } })
        let kappa = try #require(ratings.fleissKappa())
        #expect(abs(kappa - 0.4302445) < 1e-7, "kappa \(kappa)")  // R irr::kappam.fleiss, and statsmodels
        #expect(abs(try #require(ratings.krippendorffAlpha()) - (try Self.load()).fleiss1971_alpha_nominal) < 1e-9)
    }

    @Test func edgeCases() {
        let perfect = Ratings(categories: [[0, 1, 2, nil], [0, 1, 2, 3]])
        #expect(perfect.krippendorffAlpha() == 1)
        #expect(perfect.percentAgreement() == 1)
        #expect(Ratings(categories: [[1, 1], [1, 1]]).krippendorffAlpha() == nil)  // nothing to disagree about
        #expect(Ratings(categories: [[0, nil], [nil, 1]]).krippendorffAlpha() == nil)  // no pairable values
        let half = Ratings(categories: [[0, 0, 1, 1], [0, 1, 1, 0]])
        #expect(half.percentAgreement() == 0.5)
        #expect(abs(half.cohenKappa(0, 1)! - 0) < 1e-12)
        let perCategory = half.alphaPerCategory()
        #expect(perCategory.count == 2)
    }
}
