// Running gnuplot: no shell between hdiff and gnuplot, so a folder's name is
// never read as a command; a missing gnuplot is a note, not an error; a figure
// that is not drawn completely is an error, and no cut figure is left.

#include "common/gnuplot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;

using testing::fresh_folder;

// Sets PATH for one scope.
struct ScopedPath {
  explicit ScopedPath(const std::string& value) : saved(std::getenv("PATH") ? std::getenv("PATH") : "") {
    setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", saved.c_str(), 1); }
  std::string saved;
};

// Names in `folder`, hidden files included.
int entries_in(const fs::path& folder) {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder)) ++count;
  return count;
}

void write_bytes(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// The message of the Error that `action` throws, with whether it was a FileError.
struct Thrown {
  std::string message = "(no error)";
  bool file_error = false;
};
Thrown thrown_by(const std::function<void()>& action) {
  try {
    action();
  } catch (const FileError& e) {
    return {e.what(), true};
  } catch (const Error& e) {
    return {e.what(), false};
  }
  return {};
}

TEST(Gnuplot, AFolderNameIsNeverRunAsACommand) {
  // Where gnuplot is missing, no command would run either way: the test would prove nothing.
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto base = fresh_folder("gnuplot_quotes");
  // Every character a shell would act on, in one folder name.
  const fs::path folder = base / "q';touch INJECTED;echo '\" $(touch INJECTED) `touch INJECTED` & | > <";
  fs::create_directories(folder);
  const bool drawn = run_gnuplot({"set print 'printed.txt'\nprint 42\n", {}}, folder);
  EXPECT_FALSE(fs::exists(base / "INJECTED"));
  EXPECT_FALSE(fs::exists(folder / "INJECTED"));
  EXPECT_FALSE(fs::exists(fs::current_path() / "INJECTED"));
  EXPECT_TRUE(drawn);
  EXPECT_TRUE(fs::exists(folder / "printed.txt"));
  // The temporary script is gone, and gnuplot's output never touched the folder.
  EXPECT_EQ(entries_in(folder), 1);
}

TEST(Gnuplot, AMissingGnuplotSkipsTheFigureAndKeepsANamedScript) {
  const auto folder = fresh_folder("gnuplot_missing");
  const ScopedPath path((folder / "no-such-dir").string());
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(run_gnuplot({"print 1\n", {"a.png"}}, folder, "figures.gp"));
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("gnuplot is not installed"), std::string::npos) << said;
  EXPECT_NE(said.find("gnuplot figures.gp"), std::string::npos) << said;
  EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << said;
  EXPECT_TRUE(fs::exists(folder / "figures.gp"));
  EXPECT_EQ(entries_in(folder), 1);
}

TEST(Gnuplot, AGnuplotErrorIsAnErrorNamingItsErrorLineNotAWarning) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("gnuplot_fails");
  // An empty data block: gnuplot warns first (harmless), then fails; before, the
  // warning was quoted and an empty figure committed (issue 25, case 10).
  const std::string script = "$empty << EOD\nEOD\nset terminal pngcairo\nset output 'a.png'\nplot $empty using 1:2\n";
  for (const std::string keep_as : {"", "figures.gp"}) {
    const Thrown error = thrown_by([&] { run_gnuplot({script, {"a.png"}}, folder, keep_as); });
    EXPECT_FALSE(error.file_error);
    EXPECT_NE(error.message.find("cannot draw the figures: gnuplot failed: "), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("line 5: x range is invalid"), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find("warning"), std::string::npos) << error.message;
    EXPECT_FALSE(fs::exists(folder / "a.png")) << "the empty figure gnuplot left is removed";
    EXPECT_FALSE(fs::exists(folder / ".plot.gp"));
  }
  EXPECT_TRUE(fs::exists(folder / "figures.gp"));
  EXPECT_NE(thrown_by([&] { run_gnuplot({"this is not gnuplot\n", {}}, folder); }).message.find("invalid command"),
            std::string::npos);
  // No folder at all: an error, and nothing started.
  EXPECT_NE(thrown_by([&] { run_gnuplot({"print 1\n", {}}, folder / "missing"); }).message.find("is missing"),
            std::string::npos);
}

TEST(Gnuplot, AFigureGnuplotCutShortIsAFileErrorAndIsRemoved) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("gnuplot_cut");
  // gnuplot exits 0 but leaves a.png without its end, as it does on a full disk.
  const Thrown cut = thrown_by([&] {
    run_gnuplot({"set print 'a.png'\nprint 'not the whole figure'\n", {"a.png"}}, folder);
  });
  EXPECT_TRUE(cut.file_error);
  EXPECT_NE(cut.message.find("a.png is cut short"), std::string::npos) << cut.message;
  EXPECT_FALSE(fs::exists(folder / "a.png"));
  const Thrown missing = thrown_by([&] { run_gnuplot({"print 1\n", {"b.svg"}}, folder); });
  EXPECT_TRUE(missing.file_error);
  EXPECT_NE(missing.message.find("b.svg was not written"), std::string::npos) << missing.message;
  // A figure left by an earlier run does not count as drawn.
  write_bytes(folder / "c.pdf", "%PDF-1.5\n%%EOF\n");
  EXPECT_NE(thrown_by([&] { run_gnuplot({"print 1\n", {"c.pdf"}}, folder); }).message.find("c.pdf was not written"),
            std::string::npos);
}

TEST(Gnuplot, EveryFigureIsWrittenCompleteAsPngSvgAndPdfInTheSharedStyle) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("gnuplot_formats");
  FigureScript script{figure_style(), {}};
  add_figure(script, "sine", "set xlabel 'noise level ε'\nset ylabel 'χ_L'\nplot sin(x) " + series_style(0) +
                                 " title 'L = 3', cos(x) " + series_style(1, true) + " title 'ᾱ'\n");
  add_figure(script, "line", "plot x title 'x'\n");
  ASSERT_EQ(script.files, (std::vector<std::string>{"sine.png", "sine.svg", "sine.pdf", "line.png", "line.svg", "line.pdf"}));
  EXPECT_NE(script.text.find("set encoding utf8"), std::string::npos);
  EXPECT_TRUE(run_gnuplot(script, folder));
  for (const auto& file : script.files) EXPECT_TRUE(figure_file_complete(folder / file)) << file;
  // The glyphs reach the SVG as UTF-8 text.
  const std::string text = testing::read_text(folder / "sine.svg");
  EXPECT_NE(text.find("ε"), std::string::npos);
  EXPECT_NE(text.find("ᾱ"), std::string::npos);
}

TEST(Gnuplot, NeighbouringSeriesDifferInColourAndPointTypeAndSixteenInOne) {
  for (size_t i = 0; i < 16; ++i)
    for (size_t j = i + 1; j < 16; ++j) {
      EXPECT_NE(series_style(i), series_style(j)) << i << " " << j;
      if (j == i + 1) {
        EXPECT_NE(series_colour(i), series_colour(j));
        EXPECT_NE(series_point_type(i), series_point_type(j));
      }
    }
  EXPECT_NE(series_style(0), series_style(0, true)) << "a paired series is told apart (dashed, open points)";
  EXPECT_EQ(series_colour(0), series_colour(0 + 16));
}

TEST(Gnuplot, AFigureIsCompleteOnlyUpToItsFormatsEnd) {
  const auto folder = fresh_folder("gnuplot_complete");
  const std::string iend("\0\0\0\0IEND\xae\x42\x60\x82", 12);
  const std::vector<std::pair<std::string, std::string>> complete = {
      {"a.png", "\x89PNG\r\n\x1a\n...." + iend}, {"a.svg", "<svg>...</svg>\n\n"}, {"a.pdf", "%PDF-1.5 ... %%EOF\n"}};
  const std::vector<std::pair<std::string, std::string>> cut = {
      {"b.png", "\x89PNG\r\n\x1a\n...." + iend.substr(0, 8)}, {"b.svg", "<svg>...</g>"}, {"b.pdf", "%PDF-1.5 ... xref"},
      {"c.png", ""}};
  for (const auto& [name, bytes] : complete) {
    write_bytes(folder / name, bytes);
    EXPECT_TRUE(figure_file_complete(folder / name)) << name;
  }
  for (const auto& [name, bytes] : cut) {
    write_bytes(folder / name, bytes);
    EXPECT_FALSE(figure_file_complete(folder / name)) << name;
  }
  EXPECT_FALSE(figure_file_complete(folder / "missing.png"));
}

TEST(Gnuplot, TheErrorLineIsTheFirstErrorNotAWarning) {
  EXPECT_EQ(gnuplot_error_line("\"f.gp\" line 5: warning: Skipping data file with no valid points\n\n"
                               "plot $d using 1:2\n             ^\n\"f.gp\" line 5: x range is invalid\n\n"
                               "\"f.gp\" line 9: later error\n"),
            "\"f.gp\" line 5: x range is invalid");
  EXPECT_EQ(gnuplot_error_line("Warning: empty y range [1:1], adjusting to [0.99:1.01]\n"),
            "Warning: empty y range [1:1], adjusting to [0.99:1.01]");
  EXPECT_EQ(gnuplot_error_line("gnuplot: something odd\n   ^\n\n"), "gnuplot: something odd");
  EXPECT_EQ(gnuplot_error_line(""), "");
}

}  // namespace
}  // namespace hdiff
