#pragma once
#include "grammar/rules.h"  // common must not know the grammar
