#pragma once
// Figures of the image experiment, drawn by gnuplot from the probe summary, each
// as .png, .svg and .pdf in the shared figure style (common/gnuplot.h):
//   class_kept           class-kept probability (± standard error) against k/K;
//   similarity           whitened activation similarity against k/K, one line per
//                        probe point, coloured by depth (stem dark, head bright);
//   similarity_by_class  similarity against probe depth for the pairs whose
//                        class changed and those whose class was kept, one pair of
//                        curves per k (data: conditional.csv).
// Their data stays beside them (class_kept.dat, similarity.dat) so that they can
// be redrawn in any style.

#include <filesystem>

#include "image/probe/probe_table.h"

namespace hdiff::image {

// The gnuplot data file of the class-kept figure: x, probability, standard error.
std::string class_kept_data(const ProbeTable& table);
// The gnuplot data file of the similarity figure: one block per probe point
// (blocks separated by two blank lines, gnuplot's `index`): x, mean, standard
// error, depth.
std::string similarity_data(const ProbeTable& table);

// Writes the data files into `folder` and runs gnuplot there. Returns false (after
// one line on stderr) when gnuplot is missing or interrupted; the data files stay.
// A figure that cannot be drawn completely (a full disk, a gnuplot error) is an
// Error, so that the caller commits nothing.
bool draw_probe_figures(const ProbeTable& table, const std::filesystem::path& folder);

}  // namespace hdiff::image
