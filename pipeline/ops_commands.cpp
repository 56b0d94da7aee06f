#include "pipeline/ops_commands.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "models/cron.hpp"
#include "models/errors.hpp"
#include "pipeline/job_store.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/run_record.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline {
using nlohmann::json;

namespace {

std::unique_ptr<JobStore> open_store(const OpsFlags& flags) {
  const std::string path = default_store_path(flags.store);
  if (path == "none") throw ConfigError("no job store: give --store PATH or set QINLING_STORE to a file");
  return std::make_unique<JobStore>(path);
}

std::string when(std::int64_t t, const std::string& tz) {
  return t > 0 ? models::format_time(t, tz).substr(0, 19) : "-";
}

json run_json(const RunRow& r, const std::string& tz) {
  json j = {{"id", r.id},
            {"job", r.job_name},
            {"state", r.state},
            {"origin", r.origin},
            {"due", when(r.due, tz)},
            {"started", when(r.started, tz)},
            {"finished", when(r.finished, tz)},
            {"message", r.message},
            {"attempts", r.attempts},
            {"lease_owner", r.lease_owner}};
  j["exit_code"] = r.exit_code ? json(*r.exit_code) : json(nullptr);
  return j;
}

void print_runs(const std::vector<RunRow>& runs, const std::string& tz) {
  std::printf("%-6s %-20s %-10s %-9s %-19s %-19s %-4s %s\n", "RUN", "JOB", "STATE", "ORIGIN", "DUE",
              "FINISHED", "EXIT", "MESSAGE");
  for (const auto& r : runs)
    std::printf("%-6lld %-20s %-10s %-9s %-19s %-19s %-4s %s\n", static_cast<long long>(r.id),
                r.job_name.c_str(), r.state.c_str(), r.origin.c_str(), when(r.due, tz).c_str(),
                when(r.finished, tz).c_str(), r.exit_code ? std::to_string(*r.exit_code).c_str() : "-",
                r.message.c_str());
}

RunRow need_run(JobStore& store, std::int64_t id) {
  auto r = store.run(id);
  if (!r)
    throw ConfigError("no run " + std::to_string(id) + " in the job store " + store.path() +
                      " (see `qinling runs`)");
  return *r;
}

}  // namespace

int command_submit(const SubmitOptions& o, const OpsFlags& flags) {
  models::check_time_zone(flags.tz);
  // Everything is checked before anything is stored: the job (exit 2 on a bad one), the cron
  // expression and the start time.
  std::optional<models::CronExpr> cron;
  if (!o.every.empty()) cron = models::parse_cron(o.every);
  const auto now = JobStore::now();
  const bool has_at = !o.at.empty();
  const std::int64_t at = has_at ? models::parse_time(o.at, flags.tz, now) : now;
  raster::init_gdal();
  const Plan plan = make_plan(o.job_file, RunOptions{});
  std::ifstream f(plan.job.file, std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(f)), {});
  const std::string name = o.name.empty() ? plan.job.name : o.name;

  auto store = open_store(flags);
  JobStore::Transaction tx(*store);
  const auto job_id = store->upsert_job(name, plan.job.file, content, sha256_text(content));
  json out = {{"job", name}, {"job_id", job_id}, {"file", plan.job.file}};
  if (has_at || !cron) {
    const auto due = at;
    const auto run_id = store->create_run(job_id, "queued", due, "submit");
    out["run"] = {{"id", run_id}, {"due", when(due, flags.tz)}};
  }
  if (cron) {
    const auto first = models::next_fire(*cron, std::max(now, at), flags.tz);
    const auto sid = store->add_schedule(job_id, cron->text, flags.tz, first);
    out["schedule"] = {
        {"id", sid}, {"cron", cron->text}, {"tz", flags.tz}, {"next_fire", when(first, flags.tz)}};
  }
  tx.commit();
  if (flags.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("job '%s' stored (%s)\n", name.c_str(), plan.job.file.c_str());
  if (out.contains("run"))
    std::printf("  run %lld queued, due %s (%s)\n",
                static_cast<long long>(out["run"]["id"].get<std::int64_t>()),
                out["run"]["due"].get<std::string>().c_str(), flags.tz.c_str());
  if (out.contains("schedule"))
    std::printf("  schedule '%s' (%s), next %s\n", cron->text.c_str(), flags.tz.c_str(),
                out["schedule"]["next_fire"].get<std::string>().c_str());
  std::printf("A worker executes due runs: `qinling worker` (or `qinling worker --once`).\n");
  return 0;
}

int command_jobs(const OpsFlags& flags) {
  auto store = open_store(flags);
  const auto schedules = store->schedules();
  json out = json::array();
  for (const auto& j : store->jobs()) {
    json s = json::array();
    for (const auto& sc : schedules)
      if (sc.job_id == j.id)
        s.push_back({{"cron", sc.cron}, {"tz", sc.tz}, {"next_fire", when(sc.next_fire, flags.tz)}});
    const auto last = store->runs(j.id, 1);
    out.push_back({{"id", j.id},
                   {"name", j.name},
                   {"file", j.path},
                   {"hash", j.hash},
                   {"schedules", s},
                   {"last_run", last.empty() ? json(nullptr) : run_json(last.front(), flags.tz)}});
  }
  if (flags.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-4s %-20s %-24s %-22s %s\n", "ID", "JOB", "SCHEDULE", "LAST RUN", "FILE");
  for (const auto& j : out) {
    std::string sched = "-";
    if (!j["schedules"].empty()) sched = j["schedules"][0]["cron"].get<std::string>();
    std::string last = "-";
    if (!j["last_run"].is_null())
      last = "#" + std::to_string(j["last_run"]["id"].get<std::int64_t>()) + " " +
             j["last_run"]["state"].get<std::string>();
    std::printf("%-4lld %-20s %-24s %-22s %s\n", static_cast<long long>(j["id"].get<std::int64_t>()),
                j["name"].get<std::string>().c_str(), sched.c_str(), last.c_str(),
                j["file"].get<std::string>().c_str());
  }
  return 0;
}

int command_runs(const std::string& job, const OpsFlags& flags) {
  auto store = open_store(flags);
  std::optional<std::int64_t> job_id;
  if (!job.empty()) {
    const auto j = store->job(job);
    if (!j)
      throw ConfigError("no job '" + job + "' in the job store " + store->path() + " (see `qinling jobs`)");
    job_id = j->id;
  }
  const auto runs = store->runs(job_id, 100);
  if (flags.json) {
    json out = json::array();
    for (const auto& r : runs) out.push_back(run_json(r, flags.tz));
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    print_runs(runs, flags.tz);
  }
  return 0;
}

int command_status(std::int64_t run_id, const OpsFlags& flags) {
  auto store = open_store(flags);
  const RunRow r = need_run(*store, run_id);
  json out = run_json(r, flags.tz);
  out["outputs"] = json::array();
  for (const auto& o : store->outputs(run_id))
    out["outputs"].push_back({{"path", o.path}, {"sha256", o.sha256}, {"size", o.size}});
  out["steps"] = json::array();
  for (const auto& st : store->step_states(run_id)) {
    json sj = {{"id", st.step_id}, {"state", st.state}};
    if (st.from_run > 0) sj["from_run"] = st.from_run;
    out["steps"].push_back(sj);
  }
  out["report"] = store->report(run_id);
  if (flags.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("run %lld of job '%s': %s\n", static_cast<long long>(r.id), r.job_name.c_str(),
              r.state.c_str());
  std::printf("  origin %s, attempts %d, due %s, started %s, finished %s (%s)\n", r.origin.c_str(),
              r.attempts, when(r.due, flags.tz).c_str(), when(r.started, flags.tz).c_str(),
              when(r.finished, flags.tz).c_str(), flags.tz.c_str());
  if (r.exit_code) std::printf("  exit code %d: %s\n", *r.exit_code, r.message.c_str());
  if (!r.lease_owner.empty() && r.state == "running") std::printf("  worker %s\n", r.lease_owner.c_str());
  for (const auto& st : out["steps"])
    std::printf("  step %s: %s%s\n", st["id"].get<std::string>().c_str(), st["state"].get<std::string>().c_str(),
                st.contains("from_run") ? (" (from run " + std::to_string(st["from_run"].get<std::int64_t>()) + ")").c_str() : "");
  if (!out["report"].get<std::string>().empty()) std::printf("  report %s\n", out["report"].get<std::string>().c_str());
  for (const auto& o : out["outputs"])
    std::printf("  output %s  %lld bytes  sha256 %s\n", o["path"].get<std::string>().c_str(),
                static_cast<long long>(o["size"].get<std::int64_t>()),
                o["sha256"].get<std::string>().c_str());
  return 0;
}

int command_report(std::int64_t run_id, const OpsFlags& flags) {
  auto store = open_store(flags);
  const RunRow r = need_run(*store, run_id);
  const std::string html = store->report(run_id);
  if (html.empty())
    throw ConfigError("run " + std::to_string(run_id) + " (" + r.state + ") has no report: reports are written when a run succeeds");
  const std::string json_path = html.substr(0, html.size() - 5) + ".json";
  std::ifstream f(json_path);
  if (!f) throw InputError("the report of run " + std::to_string(run_id) + " is gone: " + json_path + " cannot be read (rerun the job to write it again)");
  json rep = json::parse(f, nullptr, false);
  if (rep.is_discarded()) throw InputError(json_path + " is not valid JSON; rerun the job to write it again");
  if (flags.json) {
    std::printf("%s\n", rep.dump(2).c_str());
    return 0;
  }
  if (rep.value("run", std::int64_t(0)) != run_id)
    std::printf("(the report on disk is of run %lld, the latest run of this job that wrote one)\n",
                static_cast<long long>(rep.value("run", std::int64_t(0))));
  std::printf("%s\n%s\n", html.c_str(), json_path.c_str());
  std::printf("  %s in %.1f s, %lld window(s) of raster work; computed: %zu step(s), reused: %zu, warnings: %zu\n",
              rep.value("state", "").c_str(), rep.value("seconds", 0.0), static_cast<long long>(rep.value("windows", 0)),
              rep.value("computed", json::array()).size(), rep.value("cached", json::array()).size(),
              rep.value("warnings", json::array()).size());
  return 0;
}

int command_logs(std::int64_t run_id, bool follow, const OpsFlags& flags) {
  auto store = open_store(flags);
  need_run(*store, run_id);
  std::int64_t last = 0;
  for (;;) {
    for (const auto& l : store->logs(run_id, last, &last)) {
      if (flags.json)
        std::printf(
            "%s\n",
            json({{"time", when(l.time, flags.tz)}, {"level", l.level}, {"text", l.text}}).dump().c_str());
      else
        std::printf("%s %-7s %s\n", when(l.time, flags.tz).c_str(), l.level.c_str(), l.text.c_str());
    }
    std::fflush(stdout);
    const auto state = need_run(*store, run_id).state;
    if (!follow || (state != "queued" && state != "running")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return 0;
}

int command_cancel(std::int64_t run_id, const OpsFlags& flags) {
  auto store = open_store(flags);
  need_run(*store, run_id);
  const std::string before = store->cancel_run(run_id);
  const bool changed = before == "queued" || before == "running";
  if (flags.json)
    std::printf("%s\n", json({{"id", run_id}, {"was", before}, {"cancelled", changed}}).dump().c_str());
  else if (changed)
    std::printf("run %lld cancelled (was %s)%s\n", static_cast<long long>(run_id), before.c_str(),
                before == "running" ? "; its worker stops it within a few seconds" : "");
  else
    std::printf("run %lld is already %s; nothing to cancel\n", static_cast<long long>(run_id),
                before.c_str());
  return 0;
}

int command_retry(std::int64_t run_id, const OpsFlags& flags) {
  auto store = open_store(flags);
  const RunRow r = need_run(*store, run_id);
  if (r.state == "queued" || r.state == "running")
    throw ConfigError("run " + std::to_string(run_id) + " is still " + r.state + "; cancel it first or wait");
  const auto id = store->create_run(r.job_id, "queued", JobStore::now(), "retry");
  store->add_log(id, "info", "retry of run " + std::to_string(run_id));
  if (flags.json)
    std::printf("%s\n", json({{"id", id}, {"retry_of", run_id}, {"job", r.job_name}}).dump().c_str());
  else
    std::printf("run %lld queued (retry of run %lld, job '%s')\n", static_cast<long long>(id),
                static_cast<long long>(run_id), r.job_name.c_str());
  return 0;
}

}  // namespace qinling::pipeline
