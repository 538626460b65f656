import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small S3 client over AsyncHTTPClient: HEAD, GET (with a byte range), PUT (conditional), DELETE,
/// ListObjectsV2 and multipart upload, each signed with SigV4. Calls block the calling thread (never call them on an
/// event loop); many calls may run at once from different threads. Timeouts, 5xx and 429 answers and dropped
/// connections are retried with exponential backoff; the last failure becomes a one-line `RemoteError`.
package struct S3Client: Sendable {
    /// Where the bucket is: `endpoint` is `scheme://host[:port]`; with `pathStyle`, keys are `/<bucket>/<key>`,
    /// otherwise the bucket is the first label of the host (`<bucket>.<host>`).
    package var endpoint: URL
    package var bucket: String
    package var pathStyle: Bool
    package var signer: SigV4
    /// Attempts per request (the first try included).
    package var attempts = 5
    /// The first backoff in seconds; it doubles each retry.
    package var backoff = 0.2

    package init(endpoint: URL, bucket: String, pathStyle: Bool, signer: SigV4) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.pathStyle = pathStyle
        self.signer = signer
    }

    /// The HTTP client every S3Client shares (never shut down: it lives as long as the process).
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(4), read: .seconds(120))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// An object's size and entity tag, from HEAD.
    package struct Head: Sendable, Equatable {
        package var size: Int
        package var etag: String
    }

    /// A condition on a PUT: none, "only if absent" (`If-None-Match: *`) or "only if unchanged" (`If-Match`).
    package enum Condition: Sendable, Equatable {
        case none
        case absent
        case matches(String)
    }

    /// A finished HTTP exchange.
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    // MARK: - Object operations

    /// HEAD: nil when the key does not exist.
    package func head(_ key: String) throws(RemoteError) -> Head? {
        let r = try send("HEAD", key: key, accept: [200, 404])
        guard r.status == 200 else { return nil }
        return Head(size: Int(r.headers.first(name: "content-length") ?? "") ?? 0, etag: r.headers.first(name: "etag") ?? "")
    }

    /// GET, whole or a byte range (`first...last`, inclusive): nil when the key does not exist.
    package func get(_ key: String, range: ClosedRange<Int>? = nil) throws(RemoteError) -> (data: Data, etag: String)? {
        var headers: [String: String] = [:]
        if let range { headers["range"] = "bytes=\(range.lowerBound)-\(range.upperBound)" }
        let r = try send("GET", key: key, headers: headers, accept: [200, 206, 404])
        guard r.status != 404 else { return nil }
        if let range, r.status == 200 {
            // A server that ignores Range sends everything: keep the part asked for.
            guard r.body.count > range.upperBound else { throw RemoteError(.corrupt, "\(describe(key)): the server sent \(r.body.count) bytes for bytes \(range.lowerBound)-\(range.upperBound)") }
            return (r.body.subdata(in: range.lowerBound..<(range.upperBound + 1)), r.headers.first(name: "etag") ?? "")
        }
        return (r.body, r.headers.first(name: "etag") ?? "")
    }

    /// PUT with an optional condition; returns the new entity tag.
    /// - Throws: `.conflict` when the condition fails (412; 409 when a conditional write raced another).
    @discardableResult
    package func put(_ key: String, _ data: Data, condition: Condition = .none, contentType: String = "application/octet-stream") throws(RemoteError) -> String {
        var headers = ["content-type": contentType]
        switch condition {
        case .none: break
        case .absent: headers["if-none-match"] = "*"
        case .matches(let etag): headers["if-match"] = etag
        }
        let r = try send("PUT", key: key, headers: headers, body: data, accept: [200, 412, 409])
        if r.status == 412 || r.status == 409 {
            throw RemoteError(.conflict, "\(describe(key)) changed on the remote since it was read")
        }
        return r.headers.first(name: "etag") ?? ""
    }

    package func delete(_ key: String) throws(RemoteError) {
        _ = try send("DELETE", key: key, accept: [200, 204, 404])
    }

    /// Every key under `prefix` (ListObjectsV2, 1,000 per page), with sizes.
    package func list(prefix: String) throws(RemoteError) -> [(key: String, size: Int)] {
        var result: [(String, Int)] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let r = try send("GET", key: nil, query: query, accept: [200])
            let text = String(decoding: r.body, as: UTF8.self)
            for contents in XMLText.elements("Contents", in: text) {
                guard let key = XMLText.first("Key", in: contents) else { continue }
                result.append((key, Int(XMLText.first("Size", in: contents) ?? "") ?? 0))
            }
            token = XMLText.first("IsTruncated", in: text) == "true" ? XMLText.first("NextContinuationToken", in: text) : nil
        } while token != nil
        return result
    }

    /// Creates the bucket (for tests and first set-up); an existing bucket of ours is fine.
    package func createBucket() throws(RemoteError) {
        _ = try send("PUT", key: nil, accept: [200, 409])
    }

    // MARK: - Multipart upload

    package func createMultipartUpload(_ key: String) throws(RemoteError) -> String {
        let r = try send("POST", key: key, query: [("uploads", "")], accept: [200])
        guard let id = XMLText.first("UploadId", in: String(decoding: r.body, as: UTF8.self)) else {
            throw RemoteError(.corrupt, "\(describe(key)): the server started a multipart upload without an UploadId")
        }
        return id
    }

    /// Uploads part `number` (1-based); returns its entity tag.
    package func uploadPart(_ key: String, uploadID: String, number: Int, _ data: Data) throws(RemoteError) -> String {
        let r = try send("PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: data, accept: [200])
        guard let etag = r.headers.first(name: "etag") else { throw RemoteError(.corrupt, "\(describe(key)): part \(number) was stored without an ETag") }
        return etag
    }

    /// The parts already uploaded (number → (etag, size)), to resume; nil when the upload no longer exists.
    package func listParts(_ key: String, uploadID: String) throws(RemoteError) -> [Int: (etag: String, size: Int)]? {
        var parts: [Int: (String, Int)] = [:]
        var marker: String?
        repeat {
            var query = [("uploadId", uploadID)]
            if let marker { query.append(("part-number-marker", marker)) }
            let r = try send("GET", key: key, query: query, accept: [200, 404])
            guard r.status == 200 else { return nil }
            let text = String(decoding: r.body, as: UTF8.self)
            for part in XMLText.elements("Part", in: text) {
                guard let n = XMLText.first("PartNumber", in: part).flatMap(Int.init), let etag = XMLText.first("ETag", in: part) else { continue }
                parts[n] = (etag, Int(XMLText.first("Size", in: part) ?? "") ?? 0)
            }
            marker = XMLText.first("IsTruncated", in: text) == "true" ? XMLText.first("NextPartNumberMarker", in: text) : nil
        } while marker != nil
        return parts
    }

    package func completeMultipartUpload(_ key: String, uploadID: String, parts: [(number: Int, etag: String)]) throws(RemoteError) {
        var xml = "<CompleteMultipartUpload>"
        for part in parts.sorted(by: { $0.number < $1.number }) {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(XMLText.escape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let r = try send("POST", key: key, query: [("uploadId", uploadID)], body: Data(xml.utf8), accept: [200])
        // S3 may answer 200 and put the error in the body.
        let text = String(decoding: r.body, as: UTF8.self)
        if text.contains("<Error>") {
            throw RemoteError(.unavailable, "\(describe(key)): completing the multipart upload failed: \(XMLText.first("Code", in: text) ?? "error") \(XMLText.first("Message", in: text) ?? "")")
        }
    }

    package func abortMultipartUpload(_ key: String, uploadID: String) {
        _ = try? send("DELETE", key: key, query: [("uploadId", uploadID)], accept: [200, 204, 404])
    }

    // MARK: - Requests

    /// `s3://bucket/key` for messages.
    package func describe(_ key: String?) -> String { "s3://\(bucket)/\(key ?? "")" }

    func url(key: String?) -> (url: String, host: String, path: String) {
        var host = endpoint.host ?? "localhost"
        if let port = endpoint.port { host += ":\(port)" }
        var path: String
        if pathStyle {
            path = "/" + SigV4.encode(bucket) + (key.map { "/" + SigV4.encodePath($0) } ?? "/")
        } else {
            host = bucket + "." + host
            path = "/" + (key.map { SigV4.encodePath($0) } ?? "")
        }
        if path.isEmpty { path = "/" }
        let base = (endpoint.scheme ?? "https") + "://" + host
        return (base + path, host, path)
    }

    /// Sends one request, retrying what may succeed on a second try; returns a response whose status is in `accept`.
    func send(_ method: String, key: String?, query: [(String, String)] = [], headers: [String: String] = [:], body: Data? = nil,
              accept: Set<Int>) throws(RemoteError) -> Response {
        let target = url(key: key)
        var full = target.url
        if !query.isEmpty { full += "?" + SigV4.canonicalQuery(query) }
        var lastFailure = ""
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { Thread.sleep(forTimeInterval: backoff * Double(1 << (attempt - 1))) }
            var all = headers
            all["host"] = target.host
            let payloadHash = body.map(SigV4.sha256) ?? SigV4.emptyPayloadHash
            let signed = signer.sign(method: method, path: target.path, query: query, headers: all, payloadHash: payloadHash, date: Date())
            var httpHeaders = HTTPHeaders()
            for (name, value) in signed where name != "host" { httpHeaders.add(name: name, value: value) }
            let response: HTTPClient.Response
            do {
                let request = try HTTPClient.Request(url: full, method: HTTPMethod(rawValue: method), headers: httpHeaders,
                                                     body: body.map { HTTPClient.Body.data($0) })
                response = try Self.http.execute(request: request, deadline: .now() + .seconds(300)).wait()
            } catch {
                lastFailure = "\(error)"
                if Self.isPermanent(error) { break }
                continue
            }
            let data = response.body.map { Data($0.readableBytesView) } ?? Data()
            let status = Int(response.status.code)
            if accept.contains(status) { return Response(status: status, headers: response.headers, body: data) }
            let text = String(decoding: data, as: UTF8.self)
            let code = XMLText.first("Code", in: text) ?? ""
            let message = XMLText.first("Message", in: text) ?? response.status.reasonPhrase
            switch status {
            case 500...599, 429, 408:
                lastFailure = "HTTP \(status) \(code) \(message)".trimmingCharacters(in: .whitespaces)
                continue
            case 401, 403:
                throw RemoteError(.denied, "\(describe(key)): access denied (\(code.isEmpty ? "HTTP \(status)" : code)): check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket's permissions")
            case 404:
                throw RemoteError(.notFound, "\(describe(key)): not found (\(code.isEmpty ? "HTTP 404" : code))")
            default:
                throw RemoteError(.unavailable, "\(describe(key)): \(method) failed: HTTP \(status) \(code) \(message)")
            }
        }
        throw RemoteError(.unavailable, "\(describe(key)): \(method) failed after \(max(1, attempts)) attempts (\(lastFailure)); is \(endpoint.absoluteString) reachable?")
    }

    /// Failures no retry will fix (a malformed URL).
    static func isPermanent(_ error: any Error) -> Bool {
        if let e = error as? HTTPClientError { return e == .invalidURL || e == .emptyHost || e == .emptyScheme || e == .unsupportedScheme("") }
        return false
    }
}

/// Just enough XML for S3's answers: the text of elements by name, unescaped.
enum XMLText {
    static func elements(_ name: String, in text: String) -> [Substring] {
        var result: [Substring] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            result.append(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return result
    }

    static func first<S: StringProtocol>(_ name: String, in text: S) -> String? {
        guard let open = text.range(of: "<\(name)>"), let close = text[open.upperBound...].range(of: "</\(name)>") else { return nil }
        return unescape(String(text[open.upperBound..<close.lowerBound]))
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
