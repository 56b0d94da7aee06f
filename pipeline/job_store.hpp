// The job store: an SQLite database (WAL mode) holding jobs, schedules, runs with worker leases,
// run outputs with checksums and log lines, shared safely by several processes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace qinling::pipeline {

// `--store` if given, else $QINLING_STORE, else ${XDG_DATA_HOME:-~/.local/share}/qinling/jobs.db.
// "none" (in either) disables recording.
std::string default_store_path(const std::string& flag);

struct JobRow {
  std::int64_t id = 0;
  std::string name, path, content, hash;
  std::int64_t created = 0;
};

struct ScheduleRow {
  std::int64_t id = 0, job_id = 0;
  std::string cron, tz;
  std::int64_t next_fire = 0;
};

struct RunRow {
  std::int64_t id = 0, job_id = 0;
  std::string job_name, state;  // queued, running, succeeded, failed, cancelled
  std::int64_t due = 0, created = 0, started = 0, finished = 0;
  std::optional<int> exit_code;
  std::string message, lease_owner, fingerprint, origin;  // origin: run, submit, schedule, retry
  std::int64_t lease_expiry = 0;
  int attempts = 0;
};

struct OutputRow {
  std::string path, sha256;
  std::int64_t size = 0;
};

// One step of a run: its cache key, whether it was computed or taken from an earlier run, and
// its outputs as JSON ([{path, sha256, size}]) so a later run can verify and reuse them.
struct StepStateRow {
  std::int64_t run_id = 0;
  std::string step_id, key, state;  // state: computed, cached
  std::int64_t from_run = 0;        // cached: the run that computed it
  std::string outputs_json;
};

struct LogRow {
  std::int64_t time = 0;
  std::string level, text;
};

class JobStore {
 public:
  // Opens (creating the file, its folder and the schema as needed). Throws ProcessingError.
  explicit JobStore(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;
  const std::string& path() const { return path_; }

  static constexpr int kSchemaVersion = 2;  // 2: step states, run reports
  static std::int64_t now();  // Unix seconds

  // Same name → the job row is updated to the new file/content (its runs are kept).
  std::int64_t upsert_job(const std::string& name, const std::string& path, const std::string& content,
                          const std::string& hash);
  std::optional<JobRow> job(const std::string& name_or_id);
  std::optional<JobRow> job_by_id(std::int64_t id);
  std::vector<JobRow> jobs();

  std::int64_t add_schedule(std::int64_t job_id, const std::string& cron, const std::string& tz,
                            std::int64_t next_fire);
  std::vector<ScheduleRow> schedules();
  // Queues a run for every schedule whose time has come and moves it to `next(schedule)`; one
  // transaction, so two workers never queue the same firing twice. Returns runs queued.
  template <class NextFn>
  int fire_schedules(std::int64_t now_s, NextFn next);

  std::int64_t create_run(std::int64_t job_id, const std::string& state, std::int64_t due,
                          const std::string& origin);
  std::optional<RunRow> run(std::int64_t id);
  std::vector<RunRow> runs(std::optional<std::int64_t> job_id, int limit = 50);
  // Atomically takes the oldest due queued run, or a running one whose lease expired.
  std::optional<RunRow> claim_run(const std::string& owner, int lease_seconds);
  // Extends the lease; false when the run is no longer ours (cancelled, reclaimed).
  bool renew_lease(std::int64_t run_id, const std::string& owner, int lease_seconds);
  void mark_running(std::int64_t run_id, const std::string& fingerprint);
  void finish_run(std::int64_t run_id, const std::string& state, int exit_code, const std::string& message);
  // Queued/running → cancelled; returns the previous state ("" when no such run).
  std::string cancel_run(std::int64_t run_id);

  void add_output(std::int64_t run_id, const OutputRow& o);
  std::vector<OutputRow> outputs(std::int64_t run_id);
  // The latest succeeded run of `job_id` with this fingerprint (for incremental runs).
  std::optional<RunRow> last_success(std::int64_t job_id, const std::string& fingerprint);

  void add_step_state(const StepStateRow& row);
  std::vector<StepStateRow> step_states(std::int64_t run_id);
  // The newest step state with `key` in a succeeded run (candidates for reuse, newest first).
  std::vector<StepStateRow> steps_with_key(const std::string& key, int limit = 3);
  // Where the run's report (HTML) was written; "" when none.
  void set_report(std::int64_t run_id, const std::string& path);
  std::string report(std::int64_t run_id);

  void add_log(std::int64_t run_id, const std::string& level, const std::string& text);
  std::vector<LogRow> logs(std::int64_t run_id, std::int64_t after_rowid = 0,
                           std::int64_t* last_rowid = nullptr);

  // BEGIN IMMEDIATE … COMMIT, rolled back when an exception leaves the scope.
  class Transaction {
   public:
    explicit Transaction(JobStore& s);
    ~Transaction();
    void commit();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

   private:
    JobStore& store_;
    bool done_ = false;
  };

  struct Db;
  class Stmt;

 private:
  void exec(const char* sql);
  std::vector<ScheduleRow> due_schedules(std::int64_t now_s);
  void set_next_fire(std::int64_t schedule_id, std::int64_t next_fire);
  std::string path_;
  std::unique_ptr<Db> db_;
};

template <class NextFn>
int JobStore::fire_schedules(std::int64_t now_s, NextFn next) {
  Transaction tx(*this);
  int n = 0;
  for (const auto& s : due_schedules(now_s)) {
    create_run(s.job_id, "queued", s.next_fire, "schedule");
    set_next_fire(s.id, next(s, now_s));
    ++n;
  }
  tx.commit();
  return n;
}

}  // namespace qinling::pipeline
