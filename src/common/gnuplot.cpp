#include "common/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "common/error.h"
#include "common/output.h"

namespace hdiff {

namespace {

// Okabe & Ito's colour-blind-safe palette, most distinct first (its yellow, faint
// on white, last); the point types of neighbours differ too (filled circle,
// square, triangles, diamond, pentagon), and series 8..15 take the open shapes.
constexpr std::array<const char*, 8> kColours = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                 "#e69f00", "#56b4e9", "#000000", "#f0e442"};
constexpr std::array<int, 8> kFilledPoints = {7, 5, 9, 11, 13, 15, 7, 5};
constexpr size_t kDistinctSeries = 2 * kColours.size();
// The key of every figure; add_figure sets it again after a figure that changed it.
constexpr const char* kKey = "set key outside right top Left reverse spacing 1.2\n";

// The terminal of every format: the PNG for screens, the SVG for the web, the
// PDF for papers (6.25 × 4 inches, the PNG's shape); text in the same font.
// Points scale with the terminal, not the font: pdfcairo's are larger for the
// same text, hence a point size per format.
struct Format {
  const char* extension;
  const char* terminal;
  double point_size;
};
constexpr std::array<Format, 3> kFormats = {
    Format{"png", "pngcairo size 1000,640 enhanced font 'sans,12'", 1.0},
    Format{"svg", "svg size 1000,640 dynamic enhanced font 'sans,13'", 1.0},
    Format{"pdf", "pdfcairo size 6.25in,4in enhanced font 'sans,9'", 0.6}};

// How a gnuplot run ended.
struct GnuplotRun {
  int exit_status = 0;  // 0: drew the figures
  int spawn_error = 0;  // errno of a failed start (ENOENT: not on the PATH)
  int signal = 0;       // the signal that ended it, if one did
  std::string output;   // what it printed (stdout and stderr)
};

// Reads all of the file behind `fd` from its start.
std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  for (;;) {
    const ssize_t got = pread(fd, buffer, sizeof buffer, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  return text;
}

// Runs `gnuplot script_name` with `folder` as working directory, without a
// shell: the folder's name is the user's and may hold any character. Its output
// goes to an anonymous in-memory file, so that a full disk cannot hide the error
// and nothing else appears in the folder. As std::system does, hdiff ignores
// Ctrl-C while gnuplot runs (gnuplot does not), so that an interrupt costs the
// figures, never the results that are about to be committed.
GnuplotRun spawn_gnuplot(const std::filesystem::path& folder, const std::string& script_name) {
  GnuplotRun run;
  const int log = memfd_create("hdiff-gnuplot-output", MFD_CLOEXEC);
  if (log < 0) return {0, errno, 0, ""};
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  if (posix_spawn_file_actions_init(&actions) != 0) {
    close(log);
    return {0, ENOMEM, 0, ""};
  }
  if (posix_spawnattr_init(&attributes) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    close(log);
    return {0, ENOMEM, 0, ""};
  }
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  const bool prepared =
      posix_spawn_file_actions_addchdir_np(&actions, folder.c_str()) == 0 &&
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0 &&
      posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO) == 0 &&
      posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO) == 0 &&
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
  run.output = read_all(log);
  close(log);
  return run;
}

// The last bytes of a file (at most `count`), or "" when it cannot be read.
std::string tail_of(const std::filesystem::path& path, size_t count) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(count) ? size - static_cast<std::streamoff>(count) : 0;
  in.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return in ? tail : "";
}

// "; the disk is full (N bytes free)" when the file system holding `folder` has
// less than a megabyte left; else "".
std::string full_disk_note(const std::filesystem::path& folder) {
  struct statvfs space = {};
  if (statvfs(folder.c_str(), &space) != 0) return "";
  const double free_bytes = static_cast<double>(space.f_bavail) * static_cast<double>(space.f_frsize);
  if (free_bytes >= 1 << 20) return "";
  return fmt::format("; the disk is full ({:.0f} bytes free)", free_bytes);
}

// The first figure of `files` that is not complete, with what is wrong with it.
std::optional<std::string> first_incomplete(const std::vector<std::string>& files, const std::filesystem::path& folder) {
  for (const auto& name : files) {
    const auto path = folder / name;
    std::error_code error;
    const auto size = std::filesystem::file_size(path, error);
    if (error) return fmt::format("{} was not written", name);
    if (size == 0) return fmt::format("{} is empty", name);
    if (!figure_file_complete(path)) return fmt::format("{} is cut short ({} bytes)", name, size);
  }
  return std::nullopt;
}

}  // namespace

std::string figure_style() {
  std::string style =
      "# The look of every hdiff figure (src/common/gnuplot.cpp): Okabe-Ito colours, UTF-8 text\n"
      "set encoding utf8\n"
      "set grid lc rgb '#dddddd' lw 1 dt 1\n"
      "set border lw 1\n"
      "set tics out nomirror\n"
      "set errorbars small\n" +
      std::string(kKey);
  for (size_t i = 0; i < kDistinctSeries; ++i)
    style += fmt::format("set linetype {} lc rgb '{}' lw 2 pt {} dt 1\n", i + 1, kColours[i % kColours.size()],
                         series_point_type(i));
  return style + fmt::format("set linetype cycle {}\n", kDistinctSeries);
}

std::string series_colour(size_t index) { return kColours[index % kColours.size()]; }

int series_point_type(size_t index, bool hollow) {
  const int filled = kFilledPoints[index % kColours.size()];
  // gnuplot's open shape of a filled one is the type before it.
  return (hollow || (index % kDistinctSeries) >= kColours.size()) ? filled - 1 : filled;
}

std::string series_style(size_t index, bool hollow) {
  return fmt::format("lc rgb '{}' lw {} pt {} dt {}", kColours[index % kColours.size()], hollow ? 1.5 : 2,
                     series_point_type(index, hollow), hollow ? 2 : 1);
}

void add_figure(FigureScript& script, const std::string& name, const std::string& commands) {
  for (const auto& format : kFormats) {
    const std::string file = name + "." + format.extension;
    script.text += fmt::format("set terminal {}\nset output {}\nset pointsize {}\n{}{}unset output\n", format.terminal,
                               gnuplot_quote(file), format.point_size, commands, commands.ends_with('\n') ? "" : "\n");
    script.files.push_back(file);
  }
  script.text += "unset label\nunset arrow\nunset logscale\nunset colorbox\nset autoscale\n" + std::string(kKey);
}

bool figure_file_complete(const std::filesystem::path& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error || size == 0) return false;
  const std::string extension = path.extension().string();
  std::string tail = tail_of(path, 64);
  if (extension == ".png") {
    // The IEND chunk: length 0, type, CRC; a PNG ends with it.
    static const std::string iend("\0\0\0\0IEND\xae\x42\x60\x82", 12);
    return tail.ends_with(iend);
  }
  while (!tail.empty() && std::isspace(static_cast<unsigned char>(tail.back()))) tail.pop_back();
  if (extension == ".svg") return tail.ends_with("</svg>");
  if (extension == ".pdf") return tail.ends_with("%%EOF");
  return true;
}

std::string gnuplot_error_line(const std::string& output) {
  // gnuplot names the script and line of an error or warning: `"x.gp" line 5: what`.
  static const std::regex located(R"re(^"[^"]*" line [0-9]+: (.*)$)re");
  std::string last;
  size_t begin = 0;
  while (begin < output.size()) {
    size_t end = output.find('\n', begin);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(begin, end - begin);
    begin = end + 1;
    std::smatch match;
    if (std::regex_match(line, match, located)) {
      const std::string what = match[1].str();
      if (!what.starts_with("warning:") && !what.starts_with("Warning:")) return line;
    }
    if (line.find_first_not_of(" \t\r^") != std::string::npos) last = line;
  }
  // (A line echoing a long plot command is cut: the message stays one readable line.)
  return last.size() > 300 ? last.substr(0, 300) + "..." : last;
}

bool run_gnuplot(const FigureScript& script, const std::filesystem::path& folder, const std::string& keep_as) {
  std::error_code not_a_folder;
  if (!std::filesystem::is_directory(folder, not_a_folder))
    fail_file("cannot draw the figures: their folder {} is missing", folder.string());
  const std::string script_name = keep_as.empty() ? ".plot.gp" : keep_as;
  const auto script_path = folder / script_name;
  std::error_code ignored;
  write_file_atomic(script_path, script.text);  // a FileError naming it where the disk is full
  // A figure already there would pass the checks below without being drawn.
  for (const auto& name : script.files) std::filesystem::remove(folder / name, ignored);
  const GnuplotRun run = spawn_gnuplot(folder, script_name);
  // A named script stays whatever happens, so that the figures can be drawn again by hand.
  if (keep_as.empty()) std::filesystem::remove(script_path, ignored);
  auto remove_figures = [&] {
    for (const auto& name : script.files) std::filesystem::remove(folder / name, ignored);
  };
  if (run.spawn_error == ENOENT) {
    fmt::print(stderr, "hdiff: note: gnuplot is not installed, so no figures were drawn (the results are complete); "
                       "install it with `apt-get install gnuplot-nox`{}\n",
               keep_as.empty() ? "" : fmt::format(", then run `gnuplot {}` in the output folder", keep_as));
    return false;
  }
  if (run.spawn_error != 0)
    fail("cannot draw the figures: gnuplot could not be started: {}", std::strerror(run.spawn_error));
  if (run.signal == SIGINT || run.signal == SIGQUIT) {
    remove_figures();
    fmt::print(stderr, "hdiff: warning: gnuplot was interrupted, so no figures were drawn (the results are complete){}\n",
               keep_as.empty() ? "" : fmt::format("; run `gnuplot {}` in the output folder to draw them", keep_as));
    return false;
  }
  // What is left of a failed run is removed, so no cut figure survives even where the caller keeps the folder.
  const std::string disk = full_disk_note(folder);
  const std::string said = gnuplot_error_line(run.output);
  if (run.signal != 0) {
    remove_figures();
    fail("cannot draw the figures: gnuplot was ended by signal {} ({}){}", run.signal,
         strsignal(run.signal), disk);
  }
  if (run.exit_status != 0) {
    remove_figures();
    fail("cannot draw the figures: gnuplot failed: {}{}",
         said.empty() ? fmt::format("exit status {}", run.exit_status) : said, disk);
  }
  if (const auto problem = first_incomplete(script.files, folder)) {
    remove_figures();
    fail_file("cannot draw the figures: {}{}{}", *problem,
              disk.empty() ? " (is the disk full?)" : disk, said.empty() ? "" : "; gnuplot said: " + said);
  }
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
