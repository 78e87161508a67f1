#pragma once
// The version of hdiff and the git commit it was built from, recorded in every
// run.json so that each result names the code that made it.

namespace hdiff {

// The project version, e.g. "0.1.0".
const char* version();
// The short git commit of the build, with "-modified" when the tree had
// uncommitted changes, or "unknown" outside a git checkout.
const char* git_commit();

}  // namespace hdiff
