#pragma once
// The papers' closed mean-field theory of the `soft` channel (the ε-process).
//
// Every message is summarised by p, the belief on the true symbol, the rest
// spread evenly. A node's true symbol owns the tuple of its children's true
// symbols (weight p^s) and m−1 other tuples; the other n·m − 1 productions of a
// level with n parent symbols are random tuples among the v^s − 1 others, whose
// mean weight is (1 − p^s)/(v^s − 1) because the weights of all v^s tuples sum
// to 1. Hence the map one level up, with n = v between internal levels,
//
//   F_n(p) = [p^s + (m−1)(1−p^s)/(v^s−1)] / [p^s + (n·m−1)(1−p^s)/(v^s−1)],
//
// started from the leaves at p_L = 1 − ε + ε/v. F_v fixes 1/v and 1; the slope
// at 1 is s·m·(v−1)/(v^s−1), so p = 1 attracts iff that is below 1, and then the
// fixed-point equation (a polynomial with at most three positive roots) has one
// more root p* between them, unstable, whose basin boundary sets the critical
// noise ε* = (1 − p*)/(1 − 1/v).

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/output.h"
#include "theory/comparison.h"

namespace hdiff {

// The grammar sizes the mean-field map depends on.
struct MeanFieldModel {
  int v = 32;          // vocabulary of levels 1..L
  int n_classes = 32;  // classes (root symbols); used only by the root step of a finite tree
  int m = 8;           // productions per symbol
  int s = 2;           // children per production
};

// s·m·(v−1)/(v^s−1): the slope F′(1); the transition exists iff it is below 1.
double existence_ratio(const MeanFieldModel& model);

// Checks the sizes (as for a grammar) and the existence condition; Error naming the fix.
void validate(const MeanFieldModel& model);

// F_n(p): the belief on the true symbol one level up, for n parent symbols.
double mean_field_map(const MeanFieldModel& model, double p, int n_parents);

// F_n′(p), the derivative of mean_field_map in p.
double mean_field_slope(const MeanFieldModel& model, double p, int n_parents);

// p_L = 1 − ε + ε/v: the belief the ε-process leaves on a true token.
double leaf_belief(int v, double epsilon);

// The critical noise of a fixed point: ε = (1 − p)/(1 − 1/v).
double noise_of_belief(int v, double p);

// The mean-field prediction of the class posterior mass of a depth-L tree:
// F_v applied L−1 times to p_L, then the root step F_{n_classes}.
double mean_field_class_belief(const MeanFieldModel& model, double epsilon, int L);

// The fixed points and critical quantities of F_v.
struct MeanFieldResult {
  std::vector<double> fixed_points;  // ascending, in [1/v, 1]
  double p_star = 0;                 // the unstable fixed point bounding the basin of p = 1
  double critical_noise = 0;         // ε* = (1 − p*)/(1 − 1/v)
  double slope_at_p_star = 0;        // F′(p*), above 1
  double slope_at_one = 0;           // F′(1) = existence_ratio, below 1
  double nu = 0;                     // log s / log F′(p*): the correlation-length exponent
};

// Solves the map by bisection (validate()s first, so the transition exists).
MeanFieldResult solve_mean_field(const MeanFieldModel& model);

// The mean-field class beliefs at every (L, noise) that `hdiff theory --compare`
// draws beside density evolution; empty unless the model's channel is soft.
std::vector<ClassPrediction> mean_field_overlay(const ComparedModel& model, std::span<const double> noise,
                                                std::span<const int> depths);

// The content of mean_field.json: the result's keys, the model and the provenance.
nlohmann::json mean_field_json(const MeanFieldModel& model, const MeanFieldResult& result);

// The lines `hdiff theory --mean-field` prints.
std::string mean_field_summary(const MeanFieldModel& model, const MeanFieldResult& result);

// `hdiff theory --mean-field`: solves the map, writes DIR/mean_field.json and prints the summary.
void run_mean_field(const MeanFieldModel& model, OutputDir& out);

}  // namespace hdiff
