#include "pipeline/job_store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "models/errors.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

std::string default_store_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("QINLING_STORE"); env != nullptr && *env != '\0') return env;
  fs::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0')
    base = xdg;
  else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    base = fs::path(home) / ".local/share";
  else
    return "none";
  return (base / "qinling" / "jobs.db").string();
}

struct JobStore::Db {
  sqlite3* handle = nullptr;
  ~Db() { sqlite3_close_v2(handle); }
};

// A prepared statement, finalised on scope exit; bind() by 1-based index, step() until false.
class JobStore::Stmt {
 public:
  Stmt(JobStore& s, const char* sql) : db_(s.db_->handle), path_(s.path_) {
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& bind_null(int i) { return check(sqlite3_bind_null(stmt_, i)); }
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  std::int64_t i64(int c) const { return sqlite3_column_int64(stmt_, c); }
  bool is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::string text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string(p, std::size_t(sqlite3_column_bytes(stmt_, c))) : std::string();
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
    return *this;
  }
  [[noreturn]] void fail(const char* what) const {
    throw ProcessingError("job store " + path_ + ": " + what + " failed: " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

namespace {
const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, path TEXT NOT NULL, content TEXT NOT NULL,
  hash TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedules(
  id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id), cron TEXT NOT NULL,
  tz TEXT NOT NULL, next_fire INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id),
  state TEXT NOT NULL CHECK(state IN ('queued','running','succeeded','failed','cancelled')),
  origin TEXT NOT NULL, due INTEGER NOT NULL, created INTEGER NOT NULL, started INTEGER, finished INTEGER,
  exit_code INTEGER, message TEXT NOT NULL DEFAULT '', lease_owner TEXT NOT NULL DEFAULT '',
  lease_expiry INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, fingerprint TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS runs_by_state ON runs(state, due);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs(job_id, id);
CREATE TABLE IF NOT EXISTS outputs(
  run_id INTEGER NOT NULL REFERENCES runs(id), path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outputs_by_run ON outputs(run_id);
CREATE TABLE IF NOT EXISTS logs(
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), time INTEGER NOT NULL,
  level TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_run ON logs(run_id, id);
)sql";

// Version 2, applied to new files and to version-1 files alike.
const char* const kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS step_states(
  run_id INTEGER NOT NULL REFERENCES runs(id), step_id TEXT NOT NULL, key TEXT NOT NULL,
  state TEXT NOT NULL, from_run INTEGER NOT NULL DEFAULT 0, outputs TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS step_states_by_key ON step_states(key, run_id);
CREATE INDEX IF NOT EXISTS step_states_by_run ON step_states(run_id);
ALTER TABLE runs ADD COLUMN report TEXT NOT NULL DEFAULT '';
)sql";

const char* const kRunColumns =
    "r.id, r.job_id, j.name, r.state, r.due, r.created, IFNULL(r.started,0), IFNULL(r.finished,0), "
    "r.exit_code, "
    "r.message, r.lease_owner, r.fingerprint, r.origin, r.lease_expiry, r.attempts FROM runs r JOIN jobs j "
    "ON j.id = r.job_id ";

RunRow read_run(const JobStore::Stmt& s);
}  // namespace

JobStore::JobStore(const std::string& path) : path_(path), db_(std::make_unique<Db>()) {
  std::error_code ec;
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  if (sqlite3_open_v2(path.c_str(), &db_->handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    throw ProcessingError("cannot open the job store " + path + ": " +
                          (db_->handle ? sqlite3_errmsg(db_->handle) : "out of memory") +
                          " (use --store PATH or QINLING_STORE to put it elsewhere)");
  // Several workers and `qinling run`s share the file: wait for locks rather than failing at once.
  sqlite3_busy_timeout(db_->handle, 30000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
  Transaction tx(*this);
  Stmt v(*this, "PRAGMA user_version");
  const int version = v.step() ? int(v.i64(0)) : 0;
  if (version > kSchemaVersion)
    throw ProcessingError("job store " + path + " has schema version " + std::to_string(version) +
                          ", newer than this qinling understands (" + std::to_string(kSchemaVersion) + ")");
  if (version < kSchemaVersion) {  // version 0: a new file
    if (version < 1) exec(kSchema);
    if (version < 2) exec(kSchemaV2);
    exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
  }
  tx.commit();
}

JobStore::~JobStore() = default;

std::int64_t JobStore::now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void JobStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_->handle, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errmsg(db_->handle);
    sqlite3_free(err);
    throw ProcessingError("job store " + path_ + ": " + msg);
  }
}

JobStore::Transaction::Transaction(JobStore& s) : store_(s) { store_.exec("BEGIN IMMEDIATE"); }
JobStore::Transaction::~Transaction() {
  if (!done_) sqlite3_exec(store_.db_->handle, "ROLLBACK", nullptr, nullptr, nullptr);
}
void JobStore::Transaction::commit() {
  store_.exec("COMMIT");
  done_ = true;
}

std::int64_t JobStore::upsert_job(const std::string& name, const std::string& path,
                                  const std::string& content, const std::string& hash) {
  Stmt s(*this,
         "INSERT INTO jobs(name, path, content, hash, created) VALUES(?1,?2,?3,?4,?5) "
         "ON CONFLICT(name) DO UPDATE SET path=excluded.path, content=excluded.content, hash=excluded.hash "
         "RETURNING id");
  s.bind(1, name).bind(2, path).bind(3, content).bind(4, hash).bind(5, now());
  s.step();
  const auto id = s.i64(0);
  while (s.step()) {
  }
  return id;
}

namespace {
JobRow read_job(const JobStore::Stmt& s) {
  return {s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5)};
}
RunRow read_run(const JobStore::Stmt& s) {
  RunRow r;
  r.id = s.i64(0), r.job_id = s.i64(1), r.job_name = s.text(2), r.state = s.text(3);
  r.due = s.i64(4), r.created = s.i64(5), r.started = s.i64(6), r.finished = s.i64(7);
  if (!s.is_null(8)) r.exit_code = int(s.i64(8));
  r.message = s.text(9), r.lease_owner = s.text(10), r.fingerprint = s.text(11), r.origin = s.text(12);
  r.lease_expiry = s.i64(13), r.attempts = int(s.i64(14));
  return r;
}
}  // namespace

std::optional<JobRow> JobStore::job(const std::string& name_or_id) {
  Stmt s(*this,
         "SELECT id, name, path, content, hash, created FROM jobs WHERE name = ?1 OR CAST(id AS TEXT) = ?1");
  s.bind(1, name_or_id);
  if (!s.step()) return std::nullopt;
  return read_job(s);
}

std::optional<JobRow> JobStore::job_by_id(std::int64_t id) { return job(std::to_string(id)); }

std::vector<JobRow> JobStore::jobs() {
  Stmt s(*this, "SELECT id, name, path, content, hash, created FROM jobs ORDER BY name");
  std::vector<JobRow> out;
  while (s.step()) out.push_back(read_job(s));
  return out;
}

std::int64_t JobStore::add_schedule(std::int64_t job_id, const std::string& cron, const std::string& tz,
                                    std::int64_t next_fire) {
  Stmt s(*this, "INSERT INTO schedules(job_id, cron, tz, next_fire, created) VALUES(?1,?2,?3,?4,?5)");
  s.bind(1, job_id).bind(2, cron).bind(3, tz).bind(4, next_fire).bind(5, now());
  s.step();
  return sqlite3_last_insert_rowid(db_->handle);
}

std::vector<ScheduleRow> JobStore::schedules() { return due_schedules(INT64_MAX); }

std::vector<ScheduleRow> JobStore::due_schedules(std::int64_t now_s) {
  Stmt s(*this, "SELECT id, job_id, cron, tz, next_fire FROM schedules WHERE next_fire <= ?1 ORDER BY id");
  s.bind(1, now_s);
  std::vector<ScheduleRow> out;
  while (s.step()) out.push_back({s.i64(0), s.i64(1), s.text(2), s.text(3), s.i64(4)});
  return out;
}

void JobStore::set_next_fire(std::int64_t schedule_id, std::int64_t next_fire) {
  Stmt s(*this, "UPDATE schedules SET next_fire = ?2 WHERE id = ?1");
  s.bind(1, schedule_id).bind(2, next_fire);
  s.step();
}

std::int64_t JobStore::create_run(std::int64_t job_id, const std::string& state, std::int64_t due,
                                  const std::string& origin) {
  Stmt s(*this, "INSERT INTO runs(job_id, state, origin, due, created) VALUES(?1,?2,?3,?4,?5)");
  s.bind(1, job_id).bind(2, state).bind(3, origin).bind(4, due).bind(5, now());
  s.step();
  return sqlite3_last_insert_rowid(db_->handle);
}

std::optional<RunRow> JobStore::run(std::int64_t id) {
  Stmt s(*this, (std::string("SELECT ") + kRunColumns + "WHERE r.id = ?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_run(s);
}

std::vector<RunRow> JobStore::runs(std::optional<std::int64_t> job_id, int limit) {
  Stmt s(*this, (std::string("SELECT ") + kRunColumns +
                 "WHERE (?1 IS NULL OR r.job_id = ?1) ORDER BY r.id DESC LIMIT ?2")
                    .c_str());
  if (job_id)
    s.bind(1, *job_id);
  else
    s.bind_null(1);
  s.bind(2, std::int64_t(limit));
  std::vector<RunRow> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

std::optional<RunRow> JobStore::claim_run(const std::string& owner, int lease_seconds) {
  // BEGIN IMMEDIATE takes the write lock before the SELECT, so no other process can pick the same
  // row between our read and our update.
  Transaction tx(*this);
  const auto t = now();
  Stmt pick(*this,
            "SELECT id FROM runs WHERE (state = 'queued' AND due <= ?1) OR (state = 'running' AND "
            "lease_expiry < ?1 "
            "AND lease_owner <> '') ORDER BY due, id LIMIT 1");
  pick.bind(1, t);
  if (!pick.step()) return std::nullopt;
  const auto id = pick.i64(0);
  Stmt take(*this,
            "UPDATE runs SET state = 'running', lease_owner = ?2, lease_expiry = ?3, started = ?4, "
            "attempts = attempts + 1 WHERE id = ?1");
  take.bind(1, id).bind(2, owner).bind(3, t + lease_seconds).bind(4, t);
  take.step();
  tx.commit();
  return run(id);
}

bool JobStore::renew_lease(std::int64_t run_id, const std::string& owner, int lease_seconds) {
  Stmt s(*this, "UPDATE runs SET lease_expiry = ?3 WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'");
  s.bind(1, run_id).bind(2, owner).bind(3, now() + lease_seconds);
  s.step();
  return sqlite3_changes(db_->handle) == 1;
}

void JobStore::mark_running(std::int64_t run_id, const std::string& fingerprint) {
  Stmt s(*this, "UPDATE runs SET fingerprint = ?2, started = IFNULL(started, ?3) WHERE id = ?1");
  s.bind(1, run_id).bind(2, fingerprint).bind(3, now());
  s.step();
}

void JobStore::finish_run(std::int64_t run_id, const std::string& state, int exit_code,
                          const std::string& message) {
  // A run cancelled meanwhile stays cancelled.
  Stmt s(*this,
         "UPDATE runs SET state = ?2, exit_code = ?3, message = ?4, finished = ?5, lease_expiry = 0 "
         "WHERE id = ?1 AND state <> 'cancelled'");
  s.bind(1, run_id).bind(2, state).bind(3, std::int64_t(exit_code)).bind(4, message).bind(5, now());
  s.step();
}

std::string JobStore::cancel_run(std::int64_t run_id) {
  Transaction tx(*this);
  const auto r = run(run_id);
  if (!r) return "";
  if (r->state == "queued" || r->state == "running") {
    Stmt s(*this,
           "UPDATE runs SET state = 'cancelled', finished = ?2, message = 'cancelled by the user' WHERE id = "
           "?1");
    s.bind(1, run_id).bind(2, now());
    s.step();
  }
  tx.commit();
  return r->state;
}

void JobStore::add_output(std::int64_t run_id, const OutputRow& o) {
  Stmt s(*this, "INSERT INTO outputs(run_id, path, sha256, size) VALUES(?1,?2,?3,?4)");
  s.bind(1, run_id).bind(2, o.path).bind(3, o.sha256).bind(4, o.size);
  s.step();
}

std::vector<OutputRow> JobStore::outputs(std::int64_t run_id) {
  Stmt s(*this, "SELECT path, sha256, size FROM outputs WHERE run_id = ?1 ORDER BY rowid");
  s.bind(1, run_id);
  std::vector<OutputRow> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.i64(2)});
  return out;
}

std::optional<RunRow> JobStore::last_success(std::int64_t job_id, const std::string& fingerprint) {
  Stmt s(*this,
         (std::string("SELECT ") + kRunColumns +
          "WHERE r.job_id = ?1 AND r.fingerprint = ?2 AND r.state = 'succeeded' ORDER BY r.id DESC LIMIT 1")
             .c_str());
  s.bind(1, job_id).bind(2, fingerprint);
  if (!s.step()) return std::nullopt;
  return read_run(s);
}

void JobStore::add_step_state(const StepStateRow& row) {
  Stmt s(*this, "INSERT INTO step_states(run_id, step_id, key, state, from_run, outputs) VALUES(?1,?2,?3,?4,?5,?6)");
  s.bind(1, row.run_id).bind(2, row.step_id).bind(3, row.key).bind(4, row.state).bind(5, row.from_run);
  s.bind(6, row.outputs_json);
  s.step();
}

namespace {
const char* const kStepColumns = "s.run_id, s.step_id, s.key, s.state, s.from_run, s.outputs FROM step_states s ";
StepStateRow read_step(const JobStore::Stmt& s) {
  return {s.i64(0), s.text(1), s.text(2), s.text(3), s.i64(4), s.text(5)};
}
}  // namespace

std::vector<StepStateRow> JobStore::step_states(std::int64_t run_id) {
  Stmt s(*this, (std::string("SELECT ") + kStepColumns + "WHERE s.run_id = ?1 ORDER BY s.rowid").c_str());
  s.bind(1, run_id);
  std::vector<StepStateRow> out;
  while (s.step()) out.push_back(read_step(s));
  return out;
}

std::vector<StepStateRow> JobStore::steps_with_key(const std::string& key, int limit) {
  Stmt s(*this, (std::string("SELECT ") + kStepColumns +
                 "JOIN runs r ON r.id = s.run_id WHERE s.key = ?1 AND r.state = 'succeeded' "
                 "ORDER BY s.run_id DESC LIMIT ?2")
                    .c_str());
  s.bind(1, key).bind(2, std::int64_t(limit));
  std::vector<StepStateRow> out;
  while (s.step()) out.push_back(read_step(s));
  return out;
}

void JobStore::set_report(std::int64_t run_id, const std::string& path) {
  Stmt s(*this, "UPDATE runs SET report = ?2 WHERE id = ?1");
  s.bind(1, run_id).bind(2, path);
  s.step();
}

std::string JobStore::report(std::int64_t run_id) {
  Stmt s(*this, "SELECT report FROM runs WHERE id = ?1");
  s.bind(1, run_id);
  return s.step() ? s.text(0) : std::string();
}

void JobStore::add_log(std::int64_t run_id, const std::string& level, const std::string& text) {
  Stmt s(*this, "INSERT INTO logs(run_id, time, level, text) VALUES(?1,?2,?3,?4)");
  s.bind(1, run_id).bind(2, now()).bind(3, level).bind(4, text);
  s.step();
}

std::vector<LogRow> JobStore::logs(std::int64_t run_id, std::int64_t after_rowid, std::int64_t* last_rowid) {
  Stmt s(*this, "SELECT id, time, level, text FROM logs WHERE run_id = ?1 AND id > ?2 ORDER BY id");
  s.bind(1, run_id).bind(2, after_rowid);
  std::vector<LogRow> out;
  while (s.step()) {
    out.push_back({s.i64(1), s.text(2), s.text(3)});
    if (last_rowid) *last_rowid = s.i64(0);
  }
  return out;
}

}  // namespace qinling::pipeline
