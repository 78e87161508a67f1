#include "grammar/grammar_io.h"

#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_input.h"
#include "common/output.h"

namespace hdiff {

using nlohmann::json;

json grammar_to_json(const Grammar& grammar) {
  const auto& p = grammar.params;
  json rules = json::array();
  for (const auto& table : grammar.levels) {
    json level = json::array();
    for (int a = 0; a < table.n_parents; ++a) {
      json productions = json::array();
      for (int r = 0; r < table.m; ++r) {
        const auto children = table.production(static_cast<int64_t>(a) * table.m + r);
        productions.push_back(json(std::vector<uint32_t>(children.begin(), children.end())));
      }
      level.push_back(std::move(productions));
    }
    rules.push_back(std::move(level));
  }
  return json{{"format", "hdiff-grammar"}, {"version", 1}, {"v", p.v}, {"n_classes", p.n_classes}, {"m", p.m},
              {"s", p.s}, {"L", p.L}, {"seed", p.seed}, {"rules", std::move(rules)}};
}

namespace {

int64_t integer_field(const json& document, const char* key, const std::string& source) {
  if (!document.contains(key)) fail("{}: missing key \"{}\"; a grammar file needs v, n_classes, m, s, L, seed and rules", source, key);
  const auto& value = document.at(key);
  if (!value.is_number_integer()) fail("{}: \"{}\" must be an integer, found {}", source, key, value.dump());
  if (value.is_number_unsigned()) {
    const auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) fail("{}: \"{}\" = {} is too large", source, key, u);
    return static_cast<int64_t>(u);
  }
  return value.get<int64_t>();
}

int narrow_parameter(int64_t value, const char* key, const std::string& source) {
  if (value < 0 || value > (1 << 30)) fail("{}: \"{}\" = {} is out of range", source, key, value);
  return static_cast<int>(value);
}

}  // namespace

Grammar grammar_from_json(const json& document, const std::string& source) {
  if (!document.is_object()) fail("{}: not a grammar file (expected a JSON object)", source);
  static const std::set<std::string> known = {"format", "version", "v", "n_classes", "m", "s", "L", "seed", "rules"};
  for (const auto& item : document.items())
    if (!known.count(item.key())) fail("{}: unknown key \"{}\" in grammar file", source, item.key());
  if (!document.contains("format") || document.at("format") != "hdiff-grammar")
    fail("{}: not an hdiff grammar file (\"format\" must be \"hdiff-grammar\")", source);
  if (!document.contains("version") || document.at("version") != 1)
    fail("{}: unsupported grammar file version {}; this hdiff reads version 1", source,
         document.contains("version") ? document.at("version").dump() : "(missing)");

  Grammar grammar;
  auto& p = grammar.params;
  p.v = narrow_parameter(integer_field(document, "v", source), "v", source);
  p.n_classes = narrow_parameter(integer_field(document, "n_classes", source), "n_classes", source);
  p.m = narrow_parameter(integer_field(document, "m", source), "m", source);
  p.s = narrow_parameter(integer_field(document, "s", source), "s", source);
  p.L = narrow_parameter(integer_field(document, "L", source), "L", source);
  if (!document.contains("seed") || !document.at("seed").is_number_integer() ||
      (!document.at("seed").is_number_unsigned() && document.at("seed").get<int64_t>() < 0))
    fail("{}: \"seed\" must be a non-negative integer", source);
  p.seed = document.at("seed").get<uint64_t>();
  try {
    validate(p);
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }

  if (!document.contains("rules")) fail("{}: missing key \"rules\"", source);
  const auto& rules = document.at("rules");
  if (!rules.is_array() || rules.size() != static_cast<size_t>(p.L))
    fail("{}: \"rules\" must be a list of L = {} levels", source, p.L);
  for (int level = 0; level < p.L; ++level) {
    const auto& level_rules = rules[static_cast<size_t>(level)];
    ProductionTable table;
    table.n_parents = symbols_at_level(p, level);
    table.n_children = p.v;
    table.m = p.m;
    table.s = p.s;
    if (!level_rules.is_array() || level_rules.size() != static_cast<size_t>(table.n_parents))
      fail("{}: rules[{}] must list the productions of {} symbols", source, level, table.n_parents);
    // No reserve from the declared sizes: they are checked against the lists that are really there first.
    for (int a = 0; a < table.n_parents; ++a) {
      const auto& productions = level_rules[static_cast<size_t>(a)];
      if (!productions.is_array() || productions.size() != static_cast<size_t>(p.m))
        fail("{}: rules[{}][{}] must list m = {} productions", source, level, a, p.m);
      for (int r = 0; r < p.m; ++r) {
        const auto& children = productions[static_cast<size_t>(r)];
        if (!children.is_array() || children.size() != static_cast<size_t>(p.s))
          fail("{}: rules[{}][{}][{}] must list s = {} child symbols", source, level, a, r, p.s);
        for (const auto& child : children) {
          if (!child.is_number_integer() || child.get<int64_t>() < 0 || child.get<int64_t>() >= p.v)
            fail("{}: rules[{}][{}][{}] has child {}, out of range; symbols lie in [0, {}]", source, level, a, r,
                 child.dump(), p.v - 1);
          table.children.push_back(child.get<uint32_t>());
        }
      }
    }
    try {
      table.build_index(level);
    } catch (const Error& e) {
      fail("{}: {}", source, e.what());
    }
    grammar.levels.push_back(std::move(table));
  }
  return grammar;
}

void save_grammar(const Grammar& grammar, const std::filesystem::path& path, Existing existing) {
  write_file_atomic(path, grammar_to_json(grammar).dump() + "\n", existing);
}

Grammar load_grammar(const std::filesystem::path& path) {
  const std::string text = read_input_file(path, "grammar", kMaxGrammarBytes);
  const json document = parse_json_input(text, path.string(), "write grammars with `hdiff grammar --out`");
  return grammar_from_json(document, path.string());
}

}  // namespace hdiff
