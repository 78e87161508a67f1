#include "common/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

namespace hdiff {

namespace {

// Runs `gnuplot script_name` with `folder` as working directory and its output
// in folder/.plot.log, without a shell: the folder's name is the user's and may
// hold any character. Returns gnuplot's exit status, or -1 when it could not be
// started (`missing`: it is not on the PATH).
int spawn_gnuplot(const std::filesystem::path& folder, const std::string& script_name, bool& missing) {
  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0) return -1;
  // In order: into the folder, then the log relative to it.
  posix_spawn_file_actions_addchdir_np(&actions, folder.c_str());
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, ".plot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string program = "gnuplot", script = script_name;
  char* argv[] = {program.data(), script.data(), nullptr};
  pid_t pid = 0;
  const int started = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (started != 0) {
    missing = started == ENOENT;
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

bool run_gnuplot(const std::string& script, const std::filesystem::path& folder, const std::string& keep_as) {
  const std::string script_name = keep_as.empty() ? ".plot.gp" : keep_as;
  const auto script_path = folder / script_name;
  std::error_code ignored;
  {
    std::ofstream out(script_path);
    out << script;
    out.close();
    if (!out) {
      fmt::print(stderr, "hdiff: warning: could not write the figure script {}; figures skipped, CSV results are complete\n",
                 script_path.string());
      std::filesystem::remove(script_path, ignored);
      return false;
    }
  }
  bool missing = false;
  const int status = spawn_gnuplot(folder, script_name, missing);
  if (missing) {
    fmt::print(stderr, "hdiff: note: gnuplot is not installed, so no figures were drawn (CSV results are complete); "
                       "install it with `apt-get install gnuplot-nox`{}\n",
               keep_as.empty() ? "" : fmt::format(", then run `gnuplot {}` in the output folder", keep_as));
    // The child opened the log before it found no gnuplot to run.
    std::filesystem::remove(folder / ".plot.log", ignored);
    if (keep_as.empty()) std::filesystem::remove(script_path, ignored);
    return false;
  }
  if (status != 0) {
    std::ifstream log(folder / ".plot.log");
    std::string first_line;
    std::getline(log, first_line);
    if (status < 0) first_line = "it could not be started";
    fmt::print(stderr, "hdiff: warning: gnuplot failed ({}); figures skipped, CSV results are complete\n", first_line);
    std::filesystem::remove(folder / ".plot.log", ignored);
    std::filesystem::remove(script_path, ignored);
    return false;
  }
  if (keep_as.empty()) std::filesystem::remove(script_path, ignored);
  std::filesystem::remove(folder / ".plot.log", ignored);
  return true;
}

std::string gnuplot_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace hdiff
