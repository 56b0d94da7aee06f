// The job store: round trips of jobs, runs, outputs and logs; claiming with leases; schedules.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "models/errors.hpp"
#include "pipeline/job_store.hpp"
#include "support/test_support.hpp"

namespace {
using qinling::pipeline::JobStore;
using qinling::test::TempDir;

TEST(JobStore, RoundTrips) {
  TempDir tmp;
  const std::string db = tmp / "sub/jobs.db";  // the folder is created
  std::int64_t job_id = 0, run_id = 0;
  {
    JobStore s(db);
    job_id = s.upsert_job("watch", "/jobs/watch.yaml", "job: watch\n", "abc");
    EXPECT_EQ(s.upsert_job("watch", "/jobs/watch2.yaml", "job: watch # v2\n", "def"),
              job_id);  // same name: updated
    run_id = s.create_run(job_id, "queued", 100, "submit");
    s.add_output(run_id, {"/out/a.tif", "00ff", 1234});
    s.add_log(run_id, "info", "hello");
    s.add_log(run_id, "warning", "ünïcode ok");
  }
  JobStore s(db);  // reopened: everything persisted
  const auto j = s.job("watch");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->path, "/jobs/watch2.yaml");
  EXPECT_EQ(j->content, "job: watch # v2\n");
  EXPECT_EQ(j->hash, "def");
  EXPECT_EQ(s.job(std::to_string(job_id))->name, "watch");
  EXPECT_EQ(s.jobs().size(), 1u);
  const auto r = s.run(run_id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, "queued");
  EXPECT_EQ(r->due, 100);
  EXPECT_EQ(r->job_name, "watch");
  EXPECT_FALSE(r->exit_code);
  const auto outs = s.outputs(run_id);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].path, "/out/a.tif");
  EXPECT_EQ(outs[0].sha256, "00ff");
  EXPECT_EQ(outs[0].size, 1234);
  std::int64_t last = 0;
  const auto logs = s.logs(run_id, 0, &last);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[1].text, "ünïcode ok");
  EXPECT_TRUE(s.logs(run_id, last).empty());  // --follow reads only what is new

  s.finish_run(run_id, "failed", 2, "bad input");
  EXPECT_EQ(s.run(run_id)->state, "failed");
  EXPECT_EQ(*s.run(run_id)->exit_code, 2);
  EXPECT_EQ(s.cancel_run(run_id), "failed");  // finished runs stay as they are
  EXPECT_EQ(s.run(run_id)->state, "failed");
  EXPECT_EQ(s.cancel_run(999), "");
}

TEST(JobStore, WalModeAndSchemaVersion) {
  TempDir tmp;
  { JobStore s(tmp / "jobs.db"); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((tmp / "jobs.db").c_str(), &db), SQLITE_OK);
  auto one = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    sqlite3_step(st);
    std::string v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
  };
  EXPECT_EQ(one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(one("PRAGMA user_version"), std::to_string(JobStore::kSchemaVersion));
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_THROW(JobStore(tmp / "jobs.db"), qinling::ProcessingError);      // written by a newer qinling
  EXPECT_THROW(JobStore(tmp.path().string()), qinling::ProcessingError);  // a folder, not a file
}

TEST(JobStore, ClaimsOnlyDueRunsOnceAndReclaimsExpiredLeases) {
  TempDir tmp;
  JobStore s(tmp / "jobs.db");
  const auto job = s.upsert_job("j", "/j.yaml", "", "");
  const auto now = JobStore::now();
  const auto later = s.create_run(job, "queued", now + 3600, "submit");
  const auto due = s.create_run(job, "queued", now - 10, "submit");
  const auto a = s.claim_run("worker-a", 60);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, due);
  EXPECT_EQ(a->state, "running");
  EXPECT_EQ(a->lease_owner, "worker-a");
  EXPECT_EQ(a->attempts, 1);
  EXPECT_FALSE(s.claim_run("worker-b", 60));  // the other run is not due; the due one is leased
  EXPECT_TRUE(s.renew_lease(due, "worker-a", 60));
  EXPECT_FALSE(s.renew_lease(due, "worker-b", 60));
  // A lease already expired (worker-a died): another worker takes the run over.
  EXPECT_TRUE(s.renew_lease(due, "worker-a", -5));
  const auto b = s.claim_run("worker-b", 60);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, due);
  EXPECT_EQ(b->lease_owner, "worker-b");
  EXPECT_EQ(b->attempts, 2);
  EXPECT_FALSE(s.renew_lease(due, "worker-a", 60));  // worker-a lost it
  // Cancelling a running run ends its lease renewals (the worker then stops the process).
  EXPECT_EQ(s.cancel_run(due), "running");
  EXPECT_FALSE(s.renew_lease(due, "worker-b", 60));
  s.finish_run(due, "failed", 1, "interrupted");
  EXPECT_EQ(s.run(due)->state, "cancelled");  // a cancelled run stays cancelled
  EXPECT_EQ(s.run(later)->state, "queued");
}

TEST(JobStore, SchedulesQueueEachFiringOnce) {
  TempDir tmp;
  JobStore s(tmp / "jobs.db");
  const auto job = s.upsert_job("j", "/j.yaml", "", "");
  s.add_schedule(job, "0 3 * * 1", "Asia/Shanghai", 1000);
  auto next = [](const qinling::pipeline::ScheduleRow& r, std::int64_t) { return r.next_fire + 7 * 86400; };
  EXPECT_EQ(s.fire_schedules(999, next), 0);
  EXPECT_EQ(s.fire_schedules(1000, next), 1);
  EXPECT_EQ(s.fire_schedules(1000, next), 0);  // moved on to the next week
  EXPECT_EQ(s.schedules().at(0).next_fire, 1000 + 7 * 86400);
  const auto runs = s.runs(job);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].origin, "schedule");
  EXPECT_EQ(runs[0].due, 1000);
}

}  // namespace
