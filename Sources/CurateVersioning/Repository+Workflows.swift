import Foundation
import GRDB

/// A recorded workflow run.
public struct WorkflowRun: Sendable, Equatable {
    public enum Status: String, Sendable { case running, paused, failed, done }
    public var id: Int
    public var workflow: String
    public var file: String
    /// Parameters as given (JSON object).
    public var params: String
    public var status: Status
    /// What the repository looked like to the steps (its HEAD, or the token of the run that made HEAD).
    public var token: String
    public var started: Date
    public var finished: Date?
    /// HEAD when the run finished.
    public var endRevision: String?
    public var message: String?
}

/// One step's execution within a run.
public struct WorkflowStepRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case running, done, cached, paused, failed }
    public var run: Int
    public var step: String
    public var status: Status
    public var key: String
    public var started: Date
    public var finished: Date?
    /// Output path → content hash (JSON object).
    public var outputs: String?
    /// The step's process, while it runs (a resumed run stops a leftover one).
    public var pid: Int32?
    /// The identity of that process (boot id and start time), checked before it is ever signalled.
    public var process: String?
    public var message: String?

    public init(run: Int, step: String, status: Status, key: String, started: Date, finished: Date? = nil, outputs: String? = nil,
                pid: Int32? = nil, message: String? = nil) {
        self.run = run; self.step = step; self.status = status; self.key = key; self.started = started
        self.finished = finished; self.outputs = outputs; self.pid = pid; self.message = message
    }
}

extension Repository {
    public func startWorkflowRun(workflow: String, file: String, params: String, token: String, now: Date = Date()) throws(VersioningError) -> Int {
        try write("starting a workflow run") { db in
            try db.execute(sql: "INSERT INTO workflow_runs (workflow, file, params, status, token, started) VALUES (?, ?, ?, 'running', ?, ?)",
                           arguments: [workflow, file, params, token, now.timeIntervalSince1970])
            return Int(db.lastInsertedRowID)
        }
    }

    public func finishWorkflowRun(_ id: Int, status: WorkflowRun.Status, message: String?, endRevision: String?, now: Date = Date()) throws(VersioningError) {
        try write("recording a workflow run") { db in
            try db.execute(sql: "UPDATE workflow_runs SET status = ?, message = ?, end_rev = ?, finished = ? WHERE id = ?",
                           arguments: [status.rawValue, message, endRevision, now.timeIntervalSince1970, id])
        }
    }

    /// Marks a paused, failed or killed run as running again (for --resume).
    public func reopenWorkflowRun(_ id: Int) throws(VersioningError) {
        try write("resuming a workflow run") { db in
            try db.execute(sql: "UPDATE workflow_runs SET status = 'running', message = NULL, finished = NULL WHERE id = ?", arguments: [id])
        }
    }

    public func recordWorkflowStep(_ r: WorkflowStepRecord) throws(VersioningError) {
        try write("recording workflow step \(r.step)") { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO workflow_steps (run, step, status, key, started, finished, outputs, pid, process, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [r.run, r.step, r.status.rawValue, r.key, r.started.timeIntervalSince1970, r.finished?.timeIntervalSince1970, r.outputs, r.pid, r.process, r.message])
        }
    }

    public func workflowRuns(workflow: String? = nil) throws(VersioningError) -> [WorkflowRun] {
        try read("reading workflow runs") { db in
            let rows = try workflow.map { try Row.fetchAll(db, sql: "SELECT * FROM workflow_runs WHERE workflow = ? ORDER BY id", arguments: [$0]) }
                ?? Row.fetchAll(db, sql: "SELECT * FROM workflow_runs ORDER BY id")
            return rows.map { row in
                WorkflowRun(id: row["id"], workflow: row["workflow"], file: row["file"], params: row["params"],
                            status: WorkflowRun.Status(rawValue: row["status"]) ?? .failed, token: row["token"],
                            started: Date(timeIntervalSince1970: row["started"]), finished: (row["finished"] as Double?).map(Date.init(timeIntervalSince1970:)),
                            endRevision: row["end_rev"], message: row["message"])
            }
        }
    }

    public func workflowSteps(run: Int) throws(VersioningError) -> [WorkflowStepRecord] {
        try read("reading workflow steps") { db in try Row.fetchAll(db, sql: "SELECT * FROM workflow_steps WHERE run = ? ORDER BY started", arguments: [run]).map(Self.stepRecord) }
    }

    /// The latest finished (done) execution of a step of this workflow, in any run: the cache entry.
    public func lastDoneStep(workflow: String, step: String) throws(VersioningError) -> WorkflowStepRecord? {
        try read("reading workflow steps") { db in
            try Row.fetchOne(db, sql: """
                SELECT s.* FROM workflow_steps s JOIN workflow_runs r ON r.id = s.run
                WHERE r.workflow = ? AND s.step = ? AND s.status = 'done' ORDER BY s.finished DESC LIMIT 1
                """, arguments: [workflow, step]).map(Self.stepRecord)
        }
    }

    static func stepRecord(_ row: Row) -> WorkflowStepRecord {
        var record = WorkflowStepRecord(run: row["run"], step: row["step"], status: WorkflowStepRecord.Status(rawValue: row["status"]) ?? .failed, key: row["key"],
                                        started: Date(timeIntervalSince1970: row["started"]), finished: (row["finished"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                        outputs: row["outputs"], pid: row["pid"], message: row["message"])
        record.process = row["process"]
        return record
    }

    /// The id of HEAD, or nil before the first commit.
    public func headID() -> String? { try? resolve("HEAD").hex }
}
