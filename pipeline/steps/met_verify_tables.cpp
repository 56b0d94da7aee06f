#include "pipeline/steps/met_verify_tables.hpp"

#include <fmt/format.h>

#include <cmath>

namespace qinling::pipeline::steps {
namespace {

std::string num(double v, bool json) {
  if (!std::isfinite(v)) return json ? "null" : "";
  return fmt::format("{:.6g}", v);
}

// FSS rows of the CSV (`prefix`: the lead column).
std::string fss_rows(const std::vector<models::FssSums>& list, const std::string& prefix) {
  std::string out;
  for (const auto& f : list)
    out += prefix + fmt::format("fss,{},{},,,,,,,,,,,,,,,,,{},{}\n", num(f.threshold, false), f.n, f.window,
                                num(models::fss(f), false));
  return out;
}

std::string csv_rows(const VerifyTables& v, const models::ScoreSums& s, const models::ContinuousScores& c,
                     const std::string& prefix) {
  const bool temp = v.variable == "temperature";
  std::string out = prefix;
  const std::string tail = v.fss.empty() ? "\n" : ",,\n";
  out += fmt::format("continuous,,{},{},{},{},{},{},{},,,,,,,,,,{}", c.n, num(c.bias, false),
                     num(c.mae, false), num(c.rmse, false), num(c.correlation, false),
                     temp ? num(c.accuracy1, false) : "", temp ? num(c.accuracy2, false) : "", tail);
  for (const auto& t : s.cat) {
    const auto k = models::categorical_scores(t);
    out +=
        prefix + fmt::format("categorical,{},{},,,,,,,{},{},{},{},{},{},{},{},{},{}{}",
                             num(t.threshold, false), t.total(), t.hits, t.misses, t.false_alarms,
                             t.correct_negatives, num(k.pod, false), num(k.far, false), num(k.csi, false),
                             num(k.ets, false), num(k.frequency_bias, false), num(k.accuracy, false), tail);
  }
  return out;
}

}  // namespace

std::string json_scores(const models::ScoreSums& s, const models::ContinuousScores& c) {
  const auto& p = s.cont;
  std::string out = fmt::format(
      "\"continuous\": {{\"n\": {}, \"bias\": {}, \"mae\": {}, \"rmse\": {}, \"correlation\": {}, "
      "\"accuracy_1\": {}, \"accuracy_2\": {},\n    \"sums\": {{\"n\": {}, \"within_1\": {}, \"within_2\": "
      "{}, "
      "\"f\": {:.17g}, \"o\": {:.17g}, \"e\": {:.17g}, \"abs_e\": {:.17g}, \"e2\": {:.17g}, \"f2\": {:.17g}, "
      "\"o2\": {:.17g}, \"fo\": {:.17g}}}}},\n  \"categorical\": [",
      c.n, num(c.bias, true), num(c.mae, true), num(c.rmse, true), num(c.correlation, true),
      num(c.accuracy1, true), num(c.accuracy2, true), p.n, p.within1, p.within2, p.sum_f, p.sum_o, p.sum_e,
      p.sum_abs_e, p.sum_e2, p.sum_f2, p.sum_o2, p.sum_fo);
  for (std::size_t i = 0; i < s.cat.size(); ++i) {
    const auto& t = s.cat[i];
    const auto k = models::categorical_scores(t);
    out += fmt::format(
        "{}\n    {{\"threshold\": {}, \"hits\": {}, \"misses\": {}, \"false_alarms\": {}, "
        "\"correct_negatives\": {}, "
        "\"pod\": {}, \"far\": {}, \"ts\": {}, \"ets\": {}, \"frequency_bias\": {}, \"accuracy\": {}}}",
        i ? "," : "", num(t.threshold, true), t.hits, t.misses, t.false_alarms, t.correct_negatives,
        num(k.pod, true), num(k.far, true), num(k.csi, true), num(k.ets, true), num(k.frequency_bias, true),
        num(k.accuracy, true));
  }
  out += s.cat.empty() ? "]" : "\n  ]";
  return out;
}

std::string json_fss(const models::FssSums& f) {
  return fmt::format(
      "{{\"threshold\": {}, \"window\": {}, \"n\": {}, \"fss\": {}, \"sums\": {{\"d2\": {:.17g}, \"f2\": "
      "{:.17g}, "
      "\"o2\": {:.17g}}}}}",
      num(f.threshold, true), f.window, f.n, num(models::fss(f), true), f.sum_d2, f.sum_f2, f.sum_o2);
}

// Per lead time, the rows get a first column `lead` ("all" for the overall scores).
std::string verify_csv(const VerifyTables& t, const models::ScoreSums& s, const models::ContinuousScores& c) {
  std::string out =
      std::string(t.by_lead.empty() ? "" : "lead,") +
      "score_type,threshold,n,bias,mae,rmse,correlation,accuracy_1,accuracy_2,hits,misses,false_alarms,"
      "correct_negatives,pod,far,ts,ets,frequency_bias,accuracy" +
      (t.fss.empty() ? "\n" : ",window,fss\n");
  out += csv_rows(t, s, c, t.by_lead.empty() ? "" : "all,");
  out += fss_rows(t.fss, t.by_lead.empty() ? "" : "all,");
  for (std::size_t i = 0; i < t.by_lead.size(); ++i) {
    out +=
        csv_rows(t, t.by_lead[i], models::continuous_scores(t.by_lead[i].cont), num(t.leads[i], false) + ",");
    if (i < t.fss_by_lead.size()) out += fss_rows(t.fss_by_lead[i], num(t.leads[i], false) + ",");
  }
  return out;
}

std::string verify_json(const VerifyTables& t, const models::ScoreSums& s, const models::ContinuousScores& c,
                        const std::string& notes) {
  std::string out = fmt::format("{{\n  \"step\": \"{}\",\n  \"variable\": \"{}\",\n", t.step_id, t.variable);
  if (!notes.empty()) out += "  " + notes + ",\n";
  out += "  " + json_scores(s, c);
  if (!t.fss.empty()) {
    out += ",\n  \"fss\": [";
    for (std::size_t i = 0; i < t.fss.size(); ++i)
      out += fmt::format("{}\n    {}", i ? "," : "", json_fss(t.fss[i]));
    out += "\n  ]";
  }
  if (!t.by_lead.empty()) {
    out += ",\n  \"by_lead\": [";
    for (std::size_t i = 0; i < t.by_lead.size(); ++i) {
      std::string fss;
      for (std::size_t k = 0; i < t.fss_by_lead.size() && k < t.fss_by_lead[i].size(); ++k)
        fss += (k ? ", " : ",\n  \"fss\": [") + json_fss(t.fss_by_lead[i][k]);
      out += fmt::format("{}\n  {{\"lead\": {}, {}{}}}", i ? "," : "", num(t.leads[i], true),
                         json_scores(t.by_lead[i], models::continuous_scores(t.by_lead[i].cont)),
                         fss.empty() ? "" : fss + "]");
    }
    out += "\n  ]";
  }
  return out + "\n}\n";
}

}  // namespace qinling::pipeline::steps
