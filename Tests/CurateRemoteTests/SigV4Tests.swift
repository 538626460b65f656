import CurateTestSupport
import Foundation
import Testing
@testable import CurateRemote

/// The signer against AWS's published examples: the four S3 examples of "Authenticating Requests: Using the
/// Authorization Header" (GET with a range, PUT with a body, a sub-resource, a listing) and the generic suite's
/// get-vanilla. A single wrong byte in the canonical request changes every signature.
@Suite struct SigV4Tests {
    static let s3Example = SigV4(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                 region: "us-east-1")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    static func signature(_ headers: [String: String]) -> String {
        String(headers["authorization"]!.split(separator: "=").last!)
    }

    @Test func getObjectWithRange() {
        let signed = Self.s3Example.sign(method: "GET", path: "/test.txt", headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"],
                                         payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(Self.signature(signed) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed["authorization"]!.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "))
        #expect(signed["x-amz-date"] == "20130524T000000Z")
    }

    @Test func putObjectWithBody() {
        let body = Data("Welcome to Amazon S3.".utf8)
        #expect(SigV4.sha256(body) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = Self.s3Example.sign(method: "PUT", path: SigV4.encodePath("/test$file.text"),
                                         headers: ["Host": "examplebucket.s3.amazonaws.com", "Date": "Fri, 24 May 2013 00:00:00 GMT",
                                                   "x-amz-storage-class": "REDUCED_REDUNDANCY"],
                                         payloadHash: SigV4.sha256(body), date: Self.date)
        #expect(Self.signature(signed) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func subresourceAndListing() {
        let lifecycle = Self.s3Example.sign(method: "GET", path: "/", query: [("lifecycle", "")], headers: ["Host": "examplebucket.s3.amazonaws.com"],
                                            payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(Self.signature(lifecycle) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        let list = Self.s3Example.sign(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: ["Host": "examplebucket.s3.amazonaws.com"],
                                       payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(Self.signature(list) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func genericSuiteGetVanilla() {
        let signer = SigV4(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                           region: "us-east-1", service: "service")
        let signed = signer.sign(method: "GET", path: "/", headers: ["Host": "example.amazonaws.com"], payloadHash: SigV4.emptyPayloadHash,
                                 date: Date(timeIntervalSince1970: 1_440_938_160), contentHashHeader: false)
        #expect(signed["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func sessionTokenIsSigned() {
        var signer = Self.s3Example
        signer.credentials.sessionToken = "token"
        let signed = signer.sign(method: "GET", path: "/", headers: ["Host": "h"], payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(signed["x-amz-security-token"] == "token")
        #expect(signed["authorization"]!.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        #expect(!"\(signer.credentials)".contains("wJalr"))
        #expect(!"\(signer.credentials)".contains("token"))
    }

    @Test func encoding() {
        #expect(SigV4.encode("a b+c/d~e") == "a%20b%2Bc%2Fd~e")
        #expect(SigV4.encodePath("photos/ключ 1.png") == "photos/%D0%BA%D0%BB%D1%8E%D1%87%201.png")
        #expect(SigV4.canonicalQuery([("b", "2"), ("a", "x y"), ("uploads", "")]) == "a=x%20y&b=2&uploads=")
    }
}

/// Credentials, region and endpoint from the AWS conventions.
@Suite struct AWSSettingsTests {
    @Test func environmentBeatsProfiles() throws {
        let scratch = ScratchDirectory()
        let folder = scratch.path
        try "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n[team]\naws_access_key_id=TEAMKEY\naws_secret_access_key=teamsecret\naws_session_token = tok\n"
            .write(toFile: folder + "/credentials", atomically: true, encoding: .utf8)
        try "[default]\nregion = eu-west-1\n[profile team]\nregion = eu-central-1\nendpoint_url = http://minio:9000\n"
            .write(toFile: folder + "/config", atomically: true, encoding: .utf8)
        let files = ["AWS_SHARED_CREDENTIALS_FILE": folder + "/credentials", "AWS_CONFIG_FILE": folder + "/config", "HOME": folder]
        let env = try AWSSettings.resolve(environment: files.merging(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"]) { $1 })
        #expect(env.credentials == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret"))
        let byDefault = try AWSSettings.resolve(environment: files)
        #expect(byDefault.credentials.accessKeyID == "FILEKEY")
        #expect(byDefault.region == "eu-west-1")
        let team = try AWSSettings.resolve(environment: files.merging(["AWS_PROFILE": "team"]) { $1 })
        #expect(team.credentials == AWSCredentials(accessKeyID: "TEAMKEY", secretAccessKey: "teamsecret", sessionToken: "tok"))
        #expect(team.region == "eu-central-1")
        #expect(team.endpoint == "http://minio:9000")
        #expect(throws: RemoteError.self) { try AWSSettings.resolve(environment: files.merging(["AWS_PROFILE": "nobody"]) { $1 }) }
    }

    @Test func remoteURLs() throws {
        #expect(try RemoteConfig.validated(name: "origin", url: "s3://bucket/a/b/", relativeTo: "/x").1 == "s3://bucket/a/b")
        #expect(try RemoteConfig.validated(name: "o", url: "file:///srv/data", relativeTo: "/x").1 == "/srv/data")
        #expect(try RemoteConfig.validated(name: "o", url: "../share", relativeTo: "/x/y").1 == "/x/share")
        #expect(throws: RemoteError.self) { try RemoteConfig.validated(name: "o", url: "s3://Bad_Bucket/x", relativeTo: "/") }
        #expect(throws: RemoteError.self) { try RemoteConfig.validated(name: "o", url: "s3://key:secret@bucket/x", relativeTo: "/") }
        #expect(throws: RemoteError.self) { try RemoteConfig.validated(name: "a b", url: "/x", relativeTo: "/") }
        #expect(throws: RemoteError.self) { try RemoteConfig.validated(name: "o", url: "http://host/x", relativeTo: "/") }
    }
}

/// What a remote sends is untrusted: refs and pack indexes that are damaged, truncated or hostile are refused with
/// a RemoteError, never a crash (offsets near overflow included).
@Suite struct RemoteLayoutTests {
    @Test func hostileRefsAndIndexesAreRefused() throws {
        let hash = String(repeating: "ab", count: 32)
        let (index, text) = RemotePackIndex.make([.init(hash: .init(hex: hash)!, kind: .blob, length: 3)])
        #expect(try RemotePackIndex.parse(text, name: index.name, key: "k").entries.count == 1)
        let renamed = "pack-" + String(repeating: "0", count: 64)
        #expect(throws: RemoteError.self) { try RemotePackIndex.parse(text, name: renamed, key: "k") }
        for line in ["\(hash) 9223372036854775807 1 blob", "\(hash) 0 -1 blob", "\(hash) 0 1 tree extra", "\(hash) 0 1 nonsense", "zz 0 1 blob"] {
            let data = Data((RemotePackIndex.header + line + "\n").utf8)
            #expect(throws: RemoteError.self) { try RemotePackIndex.parse(data, name: "pack-" + SigV4.sha256(data), key: "k") }
        }
        let ref = RemoteRef(commit: .init(hex: hash)!, packs: [index.name]).serialized()
        #expect(try RemoteRef.parse(ref, key: "k").packs == [index.name])
        // Random damage to valid texts: every outcome is a parse or a RemoteError.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            for original in [ref, text] {
                var bytes = [UInt8](original)
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng))
                    default: bytes.insert(contentsOf: Array("9".utf8), at: Int.random(in: 0...bytes.count, using: &rng))
                    }
                    if bytes.isEmpty { bytes = [0] }
                }
                let data = Data(bytes)
                _ = try? RemoteRef.parse(data, key: "k")
                if let parsed = try? RemotePackIndex.parse(data, name: "pack-" + SigV4.sha256(data), key: "k") {
                    #expect(parsed.entries.allSatisfy { $0.offset >= 0 && $0.length >= 0 && $0.offset < 1 << 48 })
                }
            }
        }
    }
}
