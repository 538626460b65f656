import CurateTestSupport
import Foundation
import Testing
@testable import CurateRemote

/// The S3 client against a real S3-compatible server that enforces signatures (moto, started by the tests).
@Suite struct S3ClientTests {
    static func client(secret: String? = nil) throws -> S3Client {
        let server = try S3Server.shared.get()
        let credentials = AWSCredentials(accessKeyID: server.accessKeyID, secretAccessKey: secret ?? server.secretAccessKey)
        var client = S3Client(endpoint: URL(string: server.endpoint)!, bucket: S3Server.newBucketName(), pathStyle: true,
                              signer: SigV4(credentials: credentials, region: "us-east-1"))
        client.backoff = 0.01
        return client
    }

    @Test func objectsRangesAndListing() throws {
        let s3 = try Self.client()
        try s3.createBucket()
        let body = Data((0..<3000).map { UInt8($0 % 251) })
        let etag = try s3.put("a/b c+d/ключ.bin", body)
        #expect(!etag.isEmpty)
        #expect(try s3.head("a/b c+d/ключ.bin") == S3Client.Head(size: 3000, etag: etag))
        #expect(try s3.get("a/b c+d/ключ.bin")?.data == body)
        #expect(try s3.get("a/b c+d/ключ.bin", range: 100...199)?.data == body.subdata(in: 100..<200))
        #expect(try s3.get("missing") == nil)
        #expect(try s3.head("missing") == nil)
        for i in 0..<1005 { try s3.put(String(format: "many/%04d", i), Data([UInt8(i % 256)])) }
        let listed = try s3.list(prefix: "many/")
        #expect(listed.count == 1005)  // more than one page of 1,000
        #expect(listed.first?.key == "many/0000" && listed.last?.key == "many/1004")
        try s3.delete("many/0000")
        #expect(try s3.head("many/0000") == nil)
    }

    @Test func conditionalWrites() throws {
        let s3 = try Self.client()
        try s3.createBucket()
        let first = try s3.put("ref", Data("1".utf8), condition: .absent)
        #expect(throws: RemoteError(.conflict, "s3://\(s3.bucket)/ref changed on the remote since it was read")) {
            try s3.put("ref", Data("2".utf8), condition: .absent)
        }
        let second = try s3.put("ref", Data("2".utf8), condition: .matches(first))
        #expect(throws: RemoteError.self) { try s3.put("ref", Data("3".utf8), condition: .matches(first)) }
        #expect(try s3.get("ref")?.data == Data("2".utf8))
        #expect(try s3.get("ref")?.etag == second)
    }

    @Test func multipartUploadResumes() throws {
        let s3 = try Self.client()
        try s3.createBucket()
        let storage = S3Storage(client: s3, prefix: "r")
        var small = storage
        small.partSize = 5 << 20  // S3's smallest part
        let size = (12 << 20) + 123
        let body = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let scratch = ScratchDirectory()
        let resume = scratch.path + "/upload"
        // A first attempt stops after its first part (as a killed process would).
        struct Stop: Error {}
        var parts = 0
        #expect(throws: RemoteError.self) {
            try small.putLarge("big", size: size, resumeFile: resume, part: { (range) throws(RemoteError) -> Data in
                parts += 1
                if parts == 2 { throw RemoteError(.unavailable, "stopped") }
                return body.subdata(in: range)
            }, sent: { _ in })
        }
        #expect(FileManager.default.fileExists(atPath: resume))
        var asked: [Range<Int>] = []
        try small.putLarge("big", size: size, resumeFile: resume, part: { (range) throws(RemoteError) -> Data in
            asked.append(range)
            return body.subdata(in: range)
        }, sent: { _ in })
        #expect(asked == [(5 << 20)..<(10 << 20), (10 << 20)..<size])  // the first part was not sent again
        #expect(try s3.get("r/big")?.data == body)
        #expect(!FileManager.default.fileExists(atPath: resume))
    }

    @Test func wrongSecretIsDeniedInOneLine() throws {
        let good = try Self.client()
        try good.createBucket()
        var bad = good
        bad.signer.credentials.secretAccessKey = "wrong"
        do {
            _ = try bad.get("anything")
            Issue.record("a wrong secret was accepted")
        } catch {
            #expect(error.code == .denied)
            #expect(error.kind == .unavailable)
            #expect(error.message.contains("SignatureDoesNotMatch"))
            #expect(!error.message.contains("\n"))
            #expect(!error.message.contains(good.signer.credentials.secretAccessKey))
        }
    }

    /// A server that answers 503 twice, then 200: the client retries with backoff and gets the object.
    @Test func serverErrorsAreRetried() throws {
        let port = PostgresServer.freePort()
        let script = """
            import http.server
            count = [0]
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    count[0] += 1
                    if count[0] <= 2:
                        self.send_response(503); self.send_header("Content-Length", "0"); self.end_headers(); return
                    body = ("attempt %d" % count[0]).encode()
                    self.send_response(200); self.send_header("Content-Length", str(len(body))); self.send_header("ETag", '"e"'); self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *a): pass
            http.server.HTTPServer(("127.0.0.1", \(port)), H).serve_forever()
            """
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", script]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        var s3 = try Self.client()
        s3.endpoint = URL(string: "http://127.0.0.1:\(port)")!
        // Wait for the server to listen (a refused connection is retried too, but would use up the attempts).
        var tries = 0
        while tries < 100, system("python3 -c \"import socket; socket.create_connection(('127.0.0.1', \(port)), 0.2)\" 2>/dev/null") != 0 {
            Thread.sleep(forTimeInterval: 0.05)
            tries += 1
        }
        #expect(try s3.get("k")?.data == Data("attempt 3".utf8))
    }

    @Test func unreachableServerIsRetriedThenUnavailable() throws {
        var s3 = try Self.client()
        s3.endpoint = URL(string: "http://127.0.0.1:\(PostgresServer.freePort())")!
        s3.attempts = 2
        do {
            _ = try s3.get("x")
            Issue.record("no server, yet an answer")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("after 2 attempts"))
        }
    }
}
