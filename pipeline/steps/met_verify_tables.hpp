// met.verify's own score tables: the CSV (one row per score type and threshold, FSS rows, a first
// column `lead` with leads) and the JSON with the partial sums, overall and per lead.
#pragma once

#include <string>
#include <vector>

#include "models/verification.hpp"

namespace qinling::pipeline::steps {

struct VerifyTables {
  std::string step_id, variable;
  const std::vector<double>& leads;                              // with by_lead
  const std::vector<models::ScoreSums>& by_lead;                 // empty: no lead column
  const std::vector<models::FssSums>& fss;                       // threshold-major; empty: no FSS
  const std::vector<std::vector<models::FssSums>>& fss_by_lead;  // grid to grid with leads
};

// `s`/`c`: the overall sums and scores.
std::string verify_csv(const VerifyTables& t, const models::ScoreSums& s, const models::ContinuousScores& c);
// `notes`: extra top-level members (station counts), already formatted.
std::string verify_json(const VerifyTables& t, const models::ScoreSums& s, const models::ContinuousScores& c,
                        const std::string& notes);

// The JSON member text `"continuous": {…, "sums": {…}}, "categorical": [ … ]` of met.verify.
std::string json_scores(const models::ScoreSums& s, const models::ContinuousScores& c);
// One FSS entry `{"threshold": …, "window": …, "n": …, "fss": …, "sums": {…}}`.
std::string json_fss(const models::FssSums& f);

}  // namespace qinling::pipeline::steps
