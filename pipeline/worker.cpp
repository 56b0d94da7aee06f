// `qinling worker`: claims due runs from the job store under a lease and executes each one by
// spawning this same binary as `qinling run JOB --run-id N`. A separate process per run keeps a
// crash, an abort inside GDAL or a process-wide setting (GDAL cache, TBB thread limit, Ctrl-C
// handler) of one run from touching the worker or the other runs; if the worker itself dies, its
// leases expire and another worker takes the runs over.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "models/cron.hpp"
#include "models/errors.hpp"
#include "pipeline/job_store.hpp"
#include "pipeline/ops_commands.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = g_stop + 1; }

struct Child {
  pid_t pid = -1;
  std::int64_t run_id = 0;
  std::string log_file;
  std::chrono::steady_clock::time_point renewed, kill_at{};
  bool stopping = false;
};

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Where each run's output is kept until the run ends. Checked before any run is claimed: failing
// after a claim would leave that run leased, untouched, until its lease expired.
fs::path log_folder() {
  std::error_code ec;
  const fs::path dir = fs::temp_directory_path(ec);
  if (!ec && ::access(dir.c_str(), W_OK | X_OK) == 0) return dir;
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string named = tmpdir != nullptr && *tmpdir != '\0' ? std::string("TMPDIR=") + tmpdir
                                                                  : "the temporary folder " + dir.string();
  throw ConfigError(named + ": " + (ec ? "no such folder" : "not writable") +
                    " (the worker keeps each run's output there until the run ends): create it, or point " +
                    "TMPDIR at a writable folder");
}

Child spawn(const WorkerOptions& o, const fs::path& logs, const std::string& store_path, const RunRow& run,
            const JobRow& job) {
  Child c;
  c.run_id = run.id;
  c.log_file = (logs /
                ("qinling-run-" + std::to_string(run.id) + "-" + std::to_string(::getpid()) + ".log"))
                   .string();
  const std::string id = std::to_string(run.id);
  // A manual run on the same output folder may hold its lock: wait for it rather than fail.
  std::vector<std::string> args = {o.self_exe, "run", job.path, "--store", store_path, "--run-id", id, "--wait", "3600"};
  c.pid = ::fork();
  if (c.pid < 0) throw ProcessingError("worker: cannot start a process for run " + id);
  if (c.pid == 0) {
    const int fd = ::open(c.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(o.self_exe.c_str(), argv.data());
    ::_exit(127);
  }
  c.renewed = std::chrono::steady_clock::now();
  return c;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// After the process ends: if it could not record its own end (crash, bad job file), do it here.
void reap(JobStore& store, const Child& c, int status, const std::string& owner, const OpsFlags& flags) {
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto r = store.run(c.run_id);
  if (r && r->state == "running" && r->lease_owner == owner) {
    const auto lines = read_lines(c.log_file);
    for (const auto& l : lines) store.add_log(c.run_id, "output", l);
    std::string msg = WIFSIGNALED(status)
                          ? "the run process was killed by signal " + std::to_string(WTERMSIG(status))
                          : "the run process exited with code " + std::to_string(code);
    if (!lines.empty()) msg += ": " + lines.back();
    store.finish_run(c.run_id, code == 0 ? "succeeded" : "failed", code == 0 ? 0 : code, msg);
    r = store.run(c.run_id);
  }
  std::error_code ec;
  fs::remove(c.log_file, ec);
  if (!r) return;
  if (flags.json)
    std::printf("%s\n",
                nlohmann::json({{"run", r->id}, {"job", r->job_name}, {"state", r->state}, {"worker", owner}})
                    .dump()
                    .c_str());
  else
    std::printf("worker %s: run %lld (%s) %s%s%s\n", owner.c_str(), static_cast<long long>(r->id),
                r->job_name.c_str(), r->state.c_str(), r->message.empty() ? "" : ": ", r->message.c_str());
  std::fflush(stdout);
}

}  // namespace

int command_worker(const WorkerOptions& options, const OpsFlags& flags) {
  WorkerOptions o = options;
  if (o.self_exe.empty()) o.self_exe = fs::read_symlink("/proc/self/exe").string();
  if (o.concurrency < 1) throw ConfigError("--concurrency must be at least 1");
  const std::string store_path = default_store_path(flags.store);
  if (store_path == "none")
    throw ConfigError("no job store: give --store PATH or set QINLING_STORE to a file");
  const fs::path logs = log_folder();
  JobStore store(store_path);
  const std::string owner = hostname() + ":" + std::to_string(::getpid());
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  if (!flags.json)
    std::fprintf(stderr, "worker %s on %s: concurrency %d, lease %d s%s\n", owner.c_str(), store_path.c_str(),
                 o.concurrency, o.lease_seconds,
                 o.once ? ", until nothing is due" : "; Ctrl-C stops claiming");
  std::vector<Child> children;
  const auto renew_every = std::chrono::seconds(std::max(1, o.lease_seconds / 3));
  for (;;) {
    store.fire_schedules(JobStore::now(), [](const ScheduleRow& s, std::int64_t now_s) {
      return models::next_fire(models::parse_cron(s.cron), now_s, s.tz);
    });
    bool nothing_due = false;
    while (g_stop == 0 && int(children.size()) < o.concurrency) {
      const auto run = store.claim_run(owner, o.lease_seconds);
      if (!run) {
        nothing_due = true;
        break;
      }
      const auto job = store.job_by_id(run->job_id);
      if (!job) {
        store.finish_run(run->id, "failed", 2, "the job of this run is no longer in the store");
        continue;
      }
      children.push_back(spawn(o, logs, store_path, *run, *job));
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto it = children.begin(); it != children.end();) {
      int status = 0;
      if (::waitpid(it->pid, &status, WNOHANG) == it->pid) {
        reap(store, *it, status, owner, flags);
        it = children.erase(it);
        continue;
      }
      if (!it->stopping && now - it->renewed >= renew_every) {
        it->renewed = now;
        if (!store.renew_lease(it->run_id, owner, o.lease_seconds)) {  // cancelled (or taken over): stop it
          ::kill(it->pid, SIGINT);
          it->stopping = true;
          it->kill_at = now + std::chrono::seconds(10);
        }
      }
      if (it->stopping && now >= it->kill_at) ::kill(it->pid, SIGKILL);
      if (g_stop > 1 && !it->stopping) {  // second Ctrl-C: stop the runs too (their leases expire)
        ::kill(it->pid, SIGINT);
        it->stopping = true;
        it->kill_at = now + std::chrono::seconds(10);
      }
      ++it;
    }
    if (children.empty() && (g_stop > 0 || (o.once && nothing_due))) break;
    // Short naps while runs are going (to notice them ending), the poll interval when idle.
    const double nap = children.empty() ? o.poll_seconds : std::min(o.poll_seconds, 0.2);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(nap * 1000)));
  }
  return 0;
}

}  // namespace qinling::pipeline
