import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A named remote as `.curate/remotes.json` records it: where, never with which secret.
package struct RemoteConfig: Codable, Sendable, Equatable {
    package var name: String
    /// `s3://bucket/prefix`, or an absolute folder path (a `file://` URL is stored as its path).
    package var url: String
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); nil for AWS (or `AWS_ENDPOINT_URL`).
    package var endpoint: String?
    package var region: String?
    /// Path-style addressing (`endpoint/bucket/key`), the default with an endpoint; virtual-host style otherwise.
    package var pathStyle: Bool?
    /// A profile of `~/.aws/credentials` and `~/.aws/config` for this remote (else `AWS_PROFILE`, then `default`).
    package var profile: String?

    package init(name: String, url: String, endpoint: String? = nil, region: String? = nil, pathStyle: Bool? = nil, profile: String? = nil) {
        self.name = name
        self.url = url
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
        self.profile = profile
    }

    /// Whether the remote is a bucket (else a folder).
    package var isS3: Bool { url.hasPrefix("s3://") }

    /// Bucket and key prefix of an `s3://` URL.
    var bucketAndPrefix: (bucket: String, prefix: String) {
        let rest = url.dropFirst("s3://".count)
        let parts = rest.split(separator: "/", maxSplits: 1)
        return (String(parts.first ?? ""), parts.count > 1 ? String(parts[1]) : "")
    }

    /// Opens the storage, resolving credentials, region and endpoint from the AWS conventions (`environment`, the
    /// shared files under `home`).
    package func open(environment: [String: String] = ProcessInfo.processInfo.environment) throws(RemoteError) -> any RemoteStorage {
        guard isS3 else { return FolderStorage(root: url) }
        let aws = try AWSSettings.resolve(environment: environment, profile: profile)
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? self.region ?? aws.region ?? "us-east-1"
        let endpointText = endpoint ?? environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"] ?? aws.endpoint
            ?? "https://s3.\(region).amazonaws.com"
        guard let endpointURL = URL(string: endpointText), endpointURL.scheme == "http" || endpointURL.scheme == "https", endpointURL.host != nil else {
            throw RemoteError(.invalid, "remote \(name): endpoint '\(endpointText)' is not an http(s) URL")
        }
        let (bucket, prefix) = bucketAndPrefix
        let client = S3Client(endpoint: endpointURL, bucket: bucket, pathStyle: pathStyle ?? (endpoint != nil || environment["AWS_ENDPOINT_URL"] != nil),
                              signer: SigV4(credentials: aws.credentials, region: region))
        return S3Storage(client: client, prefix: prefix)
    }

    /// Checks a name and URL, normalising the URL (`file:///x` and relative paths become absolute paths).
    package static func validated(name: String, url: String, relativeTo base: String) throws(RemoteError) -> (String, String) {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }), name != "HEAD" else {
            throw RemoteError(.invalid, "\(name): remote names use letters, digits, '.', '_' and '-'")
        }
        if url.hasPrefix("s3://") {
            let rest = url.dropFirst(5)
            guard let bucket = rest.split(separator: "/").first, !bucket.isEmpty,
                  bucket.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || ".-".contains($0)) }) else {
                throw RemoteError(.invalid, "\(url): not an s3://BUCKET/PREFIX URL (bucket names use lower-case letters, digits, '.' and '-')")
            }
            guard !rest.contains("@") else { throw RemoteError(.invalid, "\(url): credentials do not go in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile") }
            return (name, url.hasSuffix("/") ? String(url.dropLast()) : url)
        }
        var path = url
        if url.hasPrefix("file://") { path = String(url.dropFirst("file://".count)) }
        guard !path.isEmpty, !path.contains("://") else { throw RemoteError(.invalid, "\(url): a remote is s3://BUCKET/PREFIX, file:///PATH or a folder path") }
        if !path.hasPrefix("/") { path = base + "/" + path }
        return (name, URL(fileURLWithPath: path).standardizedFileURL.path)
    }
}

/// The remotes of one repository (`.curate/remotes.json`): local state, never part of a commit.
package struct RemoteList: Codable, Sendable, Equatable {
    package var remotes: [RemoteConfig] = []
    /// The remote `push`, `fetch` and `pull` use when none is named.
    package var defaultRemote: String?

    package init() {}

    static func path(_ stateDirectory: String) -> String { stateDirectory + "/remotes.json" }

    package static func load(_ stateDirectory: String) throws(RemoteError) -> RemoteList {
        let file = path(stateDirectory)
        guard let data = FileManager.default.contents(atPath: file) else { return RemoteList() }
        do { return try JSONDecoder().decode(RemoteList.self, from: data) } catch {
            throw RemoteError(.corrupt, "\(file): cannot be read (\(error)); fix or remove it and add the remotes again")
        }
    }

    package func save(_ stateDirectory: String) throws(RemoteError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let file = Self.path(stateDirectory)
        do { try encoder.encode(self).write(to: URL(fileURLWithPath: file), options: .atomic) } catch {
            throw RemoteError(.io, "\(file): cannot write: \(error.localizedDescription)")
        }
    }

    /// The named remote, or the default (the only one, when there is just one).
    package func remote(_ name: String?) throws(RemoteError) -> RemoteConfig {
        let wanted = name ?? defaultRemote ?? (remotes.count == 1 ? remotes[0].name : nil)
        guard let wanted else {
            throw RemoteError(.notFound, remotes.isEmpty ? "no remote: add one with curate remote add NAME URL"
                              : "which remote? name one (\(remotes.map(\.name).joined(separator: ", "))) or set a default with curate remote default NAME")
        }
        guard let found = remotes.first(where: { $0.name == wanted }) else {
            throw RemoteError(.notFound, "no remote named \(wanted) (curate remote list shows them)")
        }
        return found
    }
}

/// Credentials and settings from the AWS conventions: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
/// `AWS_SESSION_TOKEN`, else the profile (`AWS_PROFILE`, default `default`) of `~/.aws/credentials`
/// (`AWS_SHARED_CREDENTIALS_FILE`) and `~/.aws/config` (`AWS_CONFIG_FILE`), which also give `region` and
/// `endpoint_url`.
package struct AWSSettings: Sendable {
    package var credentials: AWSCredentials
    package var region: String?
    package var endpoint: String?

    package static func resolve(environment: [String: String], profile explicit: String? = nil) throws(RemoteError) -> AWSSettings {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let profile = explicit ?? environment["AWS_PROFILE"] ?? "default"
        let credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configFile = environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let fromCredentials = iniSection(credentialsFile, profile)
        // ~/.aws/config names sections `[profile NAME]`, except `[default]`.
        let fromConfig = iniSection(configFile, profile == "default" ? "default" : "profile " + profile)
        let settings = fromConfig.merging(fromCredentials) { _, new in new }
        var credentials: AWSCredentials?
        if explicit == nil, let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !key.isEmpty {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        } else if let key = settings["aws_access_key_id"], let secret = settings["aws_secret_access_key"] {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: settings["aws_session_token"])
        }
        guard let credentials else {
            throw RemoteError(.denied, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile in \(credentialsFile) (profile '\(profile)' has no keys)")
        }
        return AWSSettings(credentials: credentials, region: settings["region"], endpoint: settings["endpoint_url"])
    }

    /// The `key = value` lines of one `[section]` of an INI file (empty when the file or section is missing).
    static func iniSection(_ file: String, _ section: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [:] }
        var result: [String: String] = [:]
        var inside = false
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                inside = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces) == section
                continue
            }
            guard inside, let equals = line.firstIndex(of: "=") else { continue }
            result[line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }
}
