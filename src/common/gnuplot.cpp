#include "common/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace hdiff {

namespace {

// How a gnuplot run ended.
struct GnuplotRun {
  int exit_status = 0;  // 0: drew the figures
  int spawn_error = 0;  // errno of a failed start (ENOENT: not on the PATH)
  int signal = 0;       // the signal that ended it, if one did
};

// Runs `gnuplot script_name` with `folder` as working directory and its output
// in folder/.plot.log, without a shell: the folder's name is the user's and may
// hold any character. As std::system does, hdiff ignores Ctrl-C while gnuplot
// runs (gnuplot does not), so that an interrupt costs the figures, never the
// results that are about to be committed.
GnuplotRun spawn_gnuplot(const std::filesystem::path& folder, const std::string& script_name) {
  GnuplotRun run;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  if (posix_spawn_file_actions_init(&actions) != 0) return {0, ENOMEM, 0};
  if (posix_spawnattr_init(&attributes) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return {0, ENOMEM, 0};
  }
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  // In order: into the folder, then the log relative to it.
  const bool prepared =
      posix_spawn_file_actions_addchdir_np(&actions, folder.c_str()) == 0 &&
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0 &&
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, ".plot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644) == 0 &&
      posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO) == 0 &&
      posix_spawnattr_setsigdefault(&attributes, &defaults) == 0 &&
      posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF) == 0;
  struct sigaction ignore = {}, old_interrupt = {}, old_quit = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGINT, &ignore, &old_interrupt);
  sigaction(SIGQUIT, &ignore, &old_quit);
  std::string program = "gnuplot", script = script_name;
  char* argv[] = {program.data(), script.data(), nullptr};
  pid_t pid = 0;
  run.spawn_error = prepared ? posix_spawnp(&pid, "gnuplot", &actions, &attributes, argv, environ) : ENOMEM;
  if (run.spawn_error == 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) run.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  }
  sigaction(SIGINT, &old_interrupt, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  return run;
}

}  // namespace

bool run_gnuplot(const std::string& script, const std::filesystem::path& folder, const std::string& keep_as) {
  std::error_code not_a_folder;
  if (!std::filesystem::is_directory(folder, not_a_folder)) {
    fmt::print(stderr, "hdiff: warning: no folder {} to draw the figures in; figures skipped, CSV results are complete\n",
               folder.string());
    return false;
  }
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
  const GnuplotRun run = spawn_gnuplot(folder, script_name);
  // A named script stays whatever happens, so that the figures can be drawn again by hand.
  auto clean_up = [&] {
    std::filesystem::remove(folder / ".plot.log", ignored);  // (the child opens it even where gnuplot is missing)
    if (keep_as.empty()) std::filesystem::remove(script_path, ignored);
  };
  if (run.spawn_error == ENOENT) {
    fmt::print(stderr, "hdiff: note: gnuplot is not installed, so no figures were drawn (CSV results are complete); "
                       "install it with `apt-get install gnuplot-nox`{}\n",
               keep_as.empty() ? "" : fmt::format(", then run `gnuplot {}` in the output folder", keep_as));
    clean_up();
    return false;
  }
  if (run.spawn_error != 0 || run.signal != 0 || run.exit_status != 0) {
    std::string why;
    if (run.spawn_error != 0) {
      why = fmt::format("it could not be started: {}", std::strerror(run.spawn_error));
    } else if (run.signal != 0) {
      why = fmt::format("ended by signal {}", run.signal);
    } else {
      std::ifstream log(folder / ".plot.log");
      std::getline(log, why);
      if (why.empty()) why = fmt::format("exit status {}", run.exit_status);
    }
    fmt::print(stderr, "hdiff: warning: gnuplot failed ({}); figures skipped, CSV results are complete\n", why);
    clean_up();
    return false;
  }
  clean_up();
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
