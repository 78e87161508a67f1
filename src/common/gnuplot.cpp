#include "common/gnuplot.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

namespace hdiff {

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

bool run_gnuplot(const std::string& script, const std::filesystem::path& folder, const std::string& keep_as) {
  if (!gnuplot_available()) {
    fmt::print(stderr, "hdiff: note: gnuplot is not installed, so no figures were drawn (CSV results are complete); "
                       "install it with `apt-get install gnuplot-nox`\n");
    return false;
  }
  const std::string script_name = keep_as.empty() ? ".plot.gp" : keep_as;
  const auto script_path = folder / script_name;
  {
    std::ofstream out(script_path);
    out << script;
  }
  const std::string command =
      fmt::format("cd '{}' && gnuplot '{}' > .plot.log 2>&1", folder.string(), script_name);
  const int status = std::system(command.c_str());
  std::error_code ignored;
  if (status != 0) {
    std::ifstream log(folder / ".plot.log");
    std::string first_line;
    std::getline(log, first_line);
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
