// Alert-rule files (configs/rules/*.yaml) parsed and validated like job files: every problem
// reported with file:line, unknown keys rejected.
#pragma once

#include <string>

#include "models/alert_rules.hpp"
#include "pipeline/diagnostics.hpp"

namespace qinling::pipeline {

// Parses `path`; problems go to `diag` (whose file is `path`). `language` "zh" picks the Chinese
// labels (蓝/黄/橙/红, 数据不足, 无) for the standard level names unless the file sets labels.
models::AlertRules parse_rules(const std::string& path, const std::string& language, Diagnostics& diag);

}  // namespace qinling::pipeline
