#include "pipeline/steps/zonal_exchange.hpp"

#include <cstring>

#include "models/errors.hpp"

namespace qinling::pipeline::steps {

namespace {

void put_u64(std::string& out, std::uint64_t n) { out.append(reinterpret_cast<const char*>(&n), sizeof n); }

// A reader over bytes from another rank: every read is bounds-checked.
struct Reader {
  const char* p;
  const char* end;
  const char* take(std::size_t n) {
    if (std::size_t(end - p) < n)
      throw ProcessingError("zonal.stats: truncated statistics from another rank");
    const char* at = p;
    p += n;
    return at;
  }
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  std::string text() {
    const auto n = std::size_t(get<std::uint64_t>());
    return std::string(take(n), n);
  }
};

}  // namespace

std::vector<std::size_t> threshold_indices(const std::vector<models::StatRequest>& requests) {
  std::vector<std::size_t> out;
  std::size_t above = 0, below = 0;
  for (const auto& r : requests)
    out.push_back(r.kind == models::StatKind::frac_above   ? above++
                  : r.kind == models::StatKind::frac_below ? below++
                                                           : 0);
  return out;
}

void fill_cell(vector::CellTable& table, std::size_t first, std::size_t c, const models::StatsAccumulator& a,
               const std::vector<models::StatRequest>& requests, const std::vector<std::size_t>& thresholds) {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto& col = table.columns[first + i];
    if (requests[i].is_text())
      col.texts[c] = a.finish_text(requests[i]);
    else
      col.numbers[c] = a.finish(requests[i], thresholds[i]);
  }
}

void put_finished_cell(std::string& out, std::uint32_t c, const models::StatsAccumulator& a,
                       const std::vector<models::StatRequest>& requests,
                       const std::vector<std::size_t>& thresholds) {
  out.append(reinterpret_cast<const char*>(&c), sizeof c);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].is_text()) {
      const std::string t = a.finish_text(requests[i]);
      put_u64(out, t.size());
      out += t;
    } else {
      const double v = a.finish(requests[i], thresholds[i]);
      out.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
}

void read_finished_cells(const std::string& bytes, vector::CellTable& table, std::size_t first,
                         const std::vector<models::StatRequest>& requests, std::vector<std::uint8_t>& done) {
  Reader in{bytes.data(), bytes.data() + bytes.size()};
  while (in.p < in.end) {
    const auto c = in.get<std::uint32_t>();
    if (c >= done.size()) throw ProcessingError("zonal.stats: another rank finished an unknown cell");
    done[c] = 1;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& col = table.columns[first + i];
      if (requests[i].is_text())
        col.texts[c] = in.text();
      else
        col.numbers[c] = in.get<double>();
    }
  }
}

std::string columns_to_bytes(const vector::CellTable& table, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < table.columns.size(); ++i) {
    const auto& c = table.columns[i];
    put_u64(out, c.name.size());
    out += c.name;
    put_u64(out, std::uint64_t(c.type));
    put_u64(out, c.numbers.size());
    out.append(reinterpret_cast<const char*>(c.numbers.data()), c.numbers.size() * sizeof(double));
    put_u64(out, c.texts.size());
    for (const auto& text : c.texts) {
      put_u64(out, text.size());
      out += text;
    }
  }
  return out;
}

std::shared_ptr<vector::CellTable> table_with_columns(const vector::CellTable& cells,
                                                      const std::string& bytes) {
  auto table = std::make_shared<vector::CellTable>(cells);
  Reader in{bytes.data(), bytes.data() + bytes.size()};
  while (in.p < in.end) {
    const std::string name = in.text();
    auto& col = table->add(name, vector::Column::Type(in.get<std::uint64_t>()));
    col.numbers.resize(std::size_t(in.get<std::uint64_t>()));
    const std::size_t n = col.numbers.size() * sizeof(double);
    if (n > 0) std::memcpy(col.numbers.data(), in.take(n), n);
    col.texts.resize(std::size_t(in.get<std::uint64_t>()));
    for (auto& text : col.texts) text = in.text();
  }
  return table;
}

}  // namespace qinling::pipeline::steps
