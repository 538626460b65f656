import Foundation
import GRDB

/// A row of `workflow_runs`.
struct WorkflowRunRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "workflow_runs"
    var id: Int64?
    var workflow: String
    var file: String
    var params: String
    var status: String
    var token: String
    var started: Double
    var finished: Double?
    var endRev: String?
    var message: String?

    enum CodingKeys: String, CodingKey { case id, workflow, file, params, status, token, started, finished, endRev = "end_rev", message }
    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    var run: WorkflowRun {
        WorkflowRun(id: Int(id ?? 0), workflow: workflow, file: file, params: params, status: WorkflowRun.Status(rawValue: status) ?? .failed, token: token,
                    started: Date(timeIntervalSince1970: started), finished: finished.map(Date.init(timeIntervalSince1970:)), endRevision: endRev, message: message)
    }
}

/// A row of `workflow_steps`.
struct WorkflowStepRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "workflow_steps"
    var run: Int
    var step: String
    var status: String
    var key: String
    var started: Double
    var finished: Double?
    var outputs: String?
    var pid: Int32?
    var message: String?
    var process: String?

    init(_ r: WorkflowStepRecord) {
        run = r.run; step = r.step; status = r.status.rawValue; key = r.key; started = r.started.timeIntervalSince1970
        finished = r.finished?.timeIntervalSince1970; outputs = r.outputs; pid = r.pid; message = r.message; process = r.process
    }

    var record: WorkflowStepRecord {
        WorkflowStepRecord(run: run, step: step, status: WorkflowStepRecord.Status(rawValue: status) ?? .failed, key: key,
                           started: Date(timeIntervalSince1970: started), finished: finished.map(Date.init(timeIntervalSince1970:)),
                           outputs: outputs, pid: pid, process: process, message: message)
    }
}

extension SQLiteStore {
    package func startWorkflowRun(workflow: String, file: String, params: String, token: String, now: Date) throws(StoreError) -> Int {
        try write("starting a workflow run") { db in
            var row = WorkflowRunRow(id: nil, workflow: workflow, file: file, params: params, status: WorkflowRun.Status.running.rawValue, token: token,
                                     started: now.timeIntervalSince1970)
            try row.insert(db)
            return Int(row.id ?? 0)
        }
    }

    package func finishWorkflowRun(_ id: Int, status: WorkflowRun.Status, message: String?, endRevision: String?, now: Date) throws(StoreError) {
        try write("recording a workflow run") { db in
            try db.execute(sql: "UPDATE workflow_runs SET status = ?, message = ?, end_rev = ?, finished = ? WHERE id = ?",
                           arguments: [status.rawValue, message, endRevision, now.timeIntervalSince1970, id])
        }
    }

    package func reopenWorkflowRun(_ id: Int) throws(StoreError) {
        try write("resuming a workflow run") { db in
            try db.execute(sql: "UPDATE workflow_runs SET status = 'running', message = NULL, finished = NULL WHERE id = ?", arguments: [id])
        }
    }

    package func recordWorkflowStep(_ record: WorkflowStepRecord) throws(StoreError) {
        try write("recording workflow step \(record.step)") { db in try WorkflowStepRow(record).save(db) }
    }

    package func workflowRuns(workflow: String?) throws(StoreError) -> [WorkflowRun] {
        try read("reading workflow runs") { db in
            var request = WorkflowRunRow.order(Column("id"))
            if let workflow { request = request.filter(Column("workflow") == workflow) }
            return try request.fetchAll(db).map(\.run)
        }
    }

    package func workflowSteps(run: Int) throws(StoreError) -> [WorkflowStepRecord] {
        try read("reading workflow steps") { db in
            try WorkflowStepRow.filter(Column("run") == run).order(Column("started")).fetchAll(db).map(\.record)
        }
    }

    package func lastDoneStep(workflow: String, step: String) throws(StoreError) -> WorkflowStepRecord? {
        try read("reading workflow steps") { db in
            try WorkflowStepRow.fetchOne(db, sql: """
                SELECT s.* FROM workflow_steps s JOIN workflow_runs r ON r.id = s.run
                WHERE r.workflow = ? AND s.step = ? AND s.status = 'done' ORDER BY s.finished DESC LIMIT 1
                """, arguments: [workflow, step]).map(\.record)
        }
    }
}
