#include "pipeline/rules_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "models/errors.hpp"

namespace qinling::pipeline {

namespace {

const std::map<std::string, std::string>& chinese_labels() {
  static const std::map<std::string, std::string> m = {{"blue", "蓝"},   {"yellow", "黄"},
                                                       {"orange", "橙"}, {"red", "红"},
                                                       {"none", "无"},   {"insufficient_data", "数据不足"},
                                                       {"green", "绿"}};
  return m;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

models::AlertRules parse_rules(const std::string& path, const std::string& language, Diagnostics& diag) {
  models::AlertRules rules;
  YAML::Node root;
  {
    std::ifstream probe(path);
    if (!probe) {
      diag.error("cannot read the rules file (does it exist?)");
      return rules;
    }
  }
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    diag.error(e.mark.line + 1, "", "not valid YAML: " + e.msg);
    return rules;
  }
  MapReader top(root, "", diag);
  if (!top.ok()) return rules;
  std::string name;
  top.get("name", name, false);
  top.get("levels", rules.levels, true);
  for (std::size_t i = 0; i < rules.levels.size(); ++i) {
    const auto& l = rules.levels[i];
    if (l == "none" || l == "insufficient_data")
      diag.error(top.node()["levels"], "levels", "'" + l + "' is reserved; choose another level name");
    if (std::find(rules.levels.begin(), rules.levels.begin() + long(i), l) != rules.levels.begin() + long(i))
      diag.error(top.node()["levels"], "levels", "level '" + l + "' is listed twice");
  }
  // Labels: the level names, or Chinese for the standard colours, then what the file says.
  auto label_of = [&](const std::string& level) {
    if (language == "zh" && chinese_labels().count(level)) return chinese_labels().at(level);
    return level;
  };
  for (const auto& l : rules.levels) rules.labels.push_back(label_of(l));
  rules.none_label = label_of("none");
  rules.insufficient_label = label_of("insufficient_data");
  if (YAML::Node labels = top.take("labels"); labels.IsDefined()) {
    MapReader lr(labels, "labels", diag);
    for (std::size_t i = 0; i < rules.levels.size(); ++i) lr.get(rules.levels[i], rules.labels[i], false);
    lr.get("none", rules.none_label, false);
    lr.get("insufficient_data", rules.insufficient_label, false);
    lr.finish();
  }
  if (YAML::Node q = top.take("quality"); q.IsDefined()) {
    try {
      if (!q.IsScalar()) throw ConfigError("expected a condition, e.g. \"valid_fraction >= 0.6\"");
      rules.quality = std::make_unique<models::Condition>(models::Condition::parse(q.as<std::string>()));
    } catch (const ConfigError& e) {
      diag.error(q, "quality", e.what());
    }
  }
  YAML::Node list = top.take("rules");
  if (!list.IsDefined() || !list.IsSequence() || list.size() == 0) {
    diag.error(list.IsDefined() ? list : root, "rules",
               "expected a list of rules: - {level: red, when: \"…\", reason: \"…\"}");
  } else {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string kp = "rules[" + std::to_string(i) + "]";
      MapReader r(list[i], kp, diag);
      if (!r.ok()) continue;
      models::AlertRule rule;
      rule.line = line_of(list[i]);
      std::string level, when;
      r.get("level", level, true);
      r.get("when", when, true);
      r.get("reason", rule.reason, false);
      r.finish();
      auto it = std::find(rules.levels.begin(), rules.levels.end(), level);
      if (!level.empty() && it == rules.levels.end())
        diag.error(list[i]["level"], kp + ".level",
                   "unknown level '" + level + "' (levels: " + join(rules.levels) + ")");
      rule.level = int(it - rules.levels.begin());
      if (when.empty()) continue;
      try {
        rule.when = models::Condition::parse(when);
      } catch (const ConfigError& e) {
        diag.error(list[i]["when"], kp + ".when", e.what());
        continue;
      }
      if (it != rules.levels.end()) rules.rules.push_back(std::move(rule));
    }
  }
  top.finish();
  return rules;
}

}  // namespace qinling::pipeline
