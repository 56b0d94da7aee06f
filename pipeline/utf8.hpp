// UTF-8 validation for text files we parse (YAML must be UTF-8, and names from them end up in JSON
// records, which cannot hold other bytes).
#pragma once

#include <string>

namespace qinling::pipeline {

// The 1-based line of the first byte sequence that is not UTF-8, or 0 when `text` is valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
int first_non_utf8_line(const std::string& text);

}  // namespace qinling::pipeline
