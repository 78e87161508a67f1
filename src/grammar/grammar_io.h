#pragma once
// Grammar files: JSON {"format": "hdiff-grammar", "version": 1, "v", "n_classes",
// "m", "s", "L", "seed", "rules"}, where rules[ℓ][a][r] lists the s children of
// production r of symbol a at level ℓ.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/output.h"
#include "grammar/grammar.h"

namespace hdiff {

// The grammar as a JSON document.
nlohmann::json grammar_to_json(const Grammar& grammar);
// A grammar from a JSON document; checks format, ranges, shapes and
// unambiguity. `source` names the document in errors.
Grammar grammar_from_json(const nlohmann::json& document, const std::string& source);

// Writes the grammar file atomically.
void save_grammar(const Grammar& grammar, const std::filesystem::path& path, Existing existing = Existing::replace);
// Reads and checks a grammar file.
Grammar load_grammar(const std::filesystem::path& path);

}  // namespace hdiff
