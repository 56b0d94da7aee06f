#include "pipeline/steps/met_verify_masks.hpp"

#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "raster/gdal_io.hpp"
#include "vector/points.hpp"
#include "vector/polygons.hpp"

namespace qinling::pipeline::steps {

namespace {
template <class T>
std::vector<std::pair<int, T>> merge_parts(const std::vector<std::vector<std::pair<int, T>>>& parts,
                                           std::size_t masks) {
  std::vector<std::int64_t> at(masks, -1);
  std::vector<std::pair<int, T>> out;
  for (const auto& part : parts)
    for (const auto& [m, s] : part) {
      auto& slot = at[std::size_t(m)];
      if (slot < 0) {
        slot = std::int64_t(out.size());
        out.emplace_back(m, s);
      } else {
        out[std::size_t(slot)].second.merge(s);
      }
    }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}
}  // namespace

MaskSums merge_mask_parts(const std::vector<MaskSums>& parts, std::size_t masks) {
  return merge_parts(parts, masks);
}
MaskFss merge_mask_parts(const std::vector<MaskFss>& parts, std::size_t masks) {
  return merge_parts(parts, masks);
}

void MaskAccumulator::add(int mask, double f, double o) {
  if (mask < 0) return;
  if (mask != last_) {
    const auto [it, fresh] = where_.emplace(mask, items_.size());
    if (fresh) items_.emplace_back(mask, models::ScoreSums(thresholds_));
    last_ = mask;
    last_at_ = it->second;
  }
  items_[last_at_].second.add(f, o);
}

MaskSums MaskAccumulator::finish() {
  std::sort(items_.begin(), items_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  MaskSums out = std::move(items_);
  items_.clear();
  where_.clear();
  last_ = -1;
  return out;
}

MaskLabeller::MaskLabeller(const vector::CellTable& masks, const raster::Grid& grid)
    : grid_(grid), shapes_(*masks.shapes) {
  if (!raster::same_crs(masks.crs_wkt, grid.crs_wkt))
    vector::reproject_shapes(shapes_, masks.crs_wkt, grid.crs_wkt);
  for (const auto& s : shapes_) boxes_.push_back(s.bounds());
}

void MaskLabeller::label(const raster::Window& w, std::int32_t* out) const {
  std::fill(out, out + w.pixels(), -1);
  // The window's world extent (any geotransform: the bounding box of its corners).
  raster::BBox wb{1e300, 1e300, -1e300, -1e300};
  for (const auto& [c, r] :
       {std::pair{w.x, w.y}, {w.x + w.width, w.y}, {w.x, w.y + w.height}, {w.x + w.width, w.y + w.height}}) {
    const auto p = grid_.to_world(c, r);
    wb.xmin = std::min(wb.xmin, p[0]), wb.xmax = std::max(wb.xmax, p[0]);
    wb.ymin = std::min(wb.ymin, p[1]), wb.ymax = std::max(wb.ymax, p[1]);
  }
  std::vector<int> hit;
  for (std::size_t i = 0; i < boxes_.size(); ++i) {
    const auto& b = boxes_[i];
    if (b.xmax >= wb.xmin && b.xmin <= wb.xmax && b.ymax >= wb.ymin && b.ymin <= wb.ymax)
      hit.push_back(int(i));
  }
  if (hit.empty()) return;
  raster::ErrorTrap trap;
  raster::DatasetPtr mem(
      GetGDALDriverManager()->GetDriverByName("MEM")->Create("", w.width, w.height, 1, GDT_Int32, nullptr));
  if (!mem) throw ProcessingError("met.verify: cannot allocate the mask labels: " + trap.message());
  const auto& g = grid_.geotransform;
  std::array<double, 6> gt{g[0] + w.x * g[1] + w.y * g[2], g[1], g[2],
                           g[3] + w.x * g[4] + w.y * g[5], g[4], g[5]};
  mem->SetGeoTransform(gt.data());
  GDALRasterBand* band = mem->GetRasterBand(1);
  band->Fill(-1);
  // Burned last to first: where masks overlap, the first in table order is the one left.
  std::vector<std::unique_ptr<OGRGeometry>> owned;
  std::vector<OGRGeometryH> geoms;
  std::vector<double> burn;
  for (auto i = hit.rbegin(); i != hit.rend(); ++i) {
    owned.emplace_back(shapes_[std::size_t(*i)].to_ogr());
    geoms.push_back(OGRGeometry::ToHandle(owned.back().get()));
    burn.push_back(*i);
  }
  int bands[] = {1};
  if (GDALRasterizeGeometries(mem.get(), 1, bands, int(geoms.size()), geoms.data(), nullptr, nullptr,
                              burn.data(), nullptr, nullptr, nullptr) != CE_None ||
      band->RasterIO(GF_Read, 0, 0, w.width, w.height, out, w.width, w.height, GDT_Int32, 0, 0, nullptr) !=
          CE_None)
    throw ProcessingError("met.verify: cannot rasterise the masks on the analysis grid: " + trap.message());
}

std::vector<int> MaskLabeller::locate(const std::vector<std::array<double, 2>>& points) const {
  return vector::locate_points(shapes_, points);
}

std::vector<std::int32_t> label_grid(const MaskLabeller& labeller, const raster::Grid& grid) {
  std::vector<std::int32_t> out(std::size_t(grid.width) * std::size_t(grid.height));
  const auto windows = raster::plan_windows(grid.width, grid.height, 512, 512, std::int64_t(512) * 4096);
  const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, windows.size()), tsan_loop.each([&](std::size_t i) {
    const auto& w = windows[i];
    std::vector<std::int32_t> part(std::size_t(w.pixels()));
    labeller.label(w, part.data());
    for (int r = 0; r < w.height; ++r)
      std::copy_n(part.data() + std::size_t(r) * std::size_t(w.width), w.width,
                  out.data() + std::size_t(w.y + r) * std::size_t(grid.width) + std::size_t(w.x));
  }));
  tsan_loop.joined();
  return out;
}

std::vector<models::FssSums> fss_in_parallel(const std::vector<float>& f, const std::vector<float>& o,
                                             int width, int height, const std::vector<double>& thresholds,
                                             const std::vector<double>& windows, const std::int32_t* labels,
                                             std::vector<MaskFss>* per_mask, std::size_t masks) {
  std::vector<models::FssSums> out;
  const int rows = 64, blocks = std::max(1, (height + rows - 1) / rows);
  const bool by_mask = labels != nullptr && per_mask != nullptr;
  if (by_mask) per_mask->clear();
  for (double t : thresholds) {
    const models::FssTables tables = models::fss_tables(f.data(), o.data(), width, height, t);
    std::vector<models::FssSums> part(windows.size() * std::size_t(blocks));
    std::vector<MaskFss> part_mask(by_mask ? part.size() : 0);
    const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, part.size()), tsan_loop.each([&](std::size_t i) {
      const int b = int(i % std::size_t(blocks)), win = int(windows[i / std::size_t(blocks)]);
      const int y0 = b * rows, y1 = std::min(height, (b + 1) * rows);
      if (by_mask)
        part_mask[i] = models::fss_window_sums_by_label(tables, win, y0, y1, labels, &part[i]);
      else
        part[i] = models::fss_window_sums(tables, win, y0, y1);
    }));
    tsan_loop.joined();
    for (std::size_t w = 0; w < windows.size(); ++w) {
      models::FssSums s = part[w * std::size_t(blocks)];
      for (int b = 1; b < blocks; ++b) s.merge(part[w * std::size_t(blocks) + std::size_t(b)]);
      out.push_back(s);
      if (!by_mask) continue;
      const auto first = part_mask.begin() + std::ptrdiff_t(w * std::size_t(blocks));
      per_mask->push_back(merge_mask_parts(
          std::vector<MaskFss>(std::make_move_iterator(first), std::make_move_iterator(first + blocks)),
          masks));
    }
  }
  return out;
}

namespace {

std::string num(double v, bool json) {
  if (!std::isfinite(v)) return json ? "null" : "";
  return fmt::format("{:.6g}", v);
}

// A threshold inside a column name: 0.1 → 0p1, −5 → m5.
std::string tag(double t) {
  std::string s = fmt::format("{:g}", t);
  for (auto& c : s) c = c == '.' ? 'p' : c == '-' ? 'm' : c;
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += char(c);
    else if (c < 0x20)
      out += fmt::format("\\u{:04x}", unsigned(c));
    else
      out += char(c);
  }
  return out + "\"";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Walks a MaskSums ascending with the mask index.
template <class T>
struct Cursor {
  const std::vector<std::pair<int, T>>* v;
  std::size_t at = 0;
  const T* find(int mask) {
    while (at < v->size() && (*v)[at].first < mask) ++at;
    return at < v->size() && (*v)[at].first == mask ? &(*v)[at].second : nullptr;
  }
};

// Column names and values of one (mask, lead) row, after the ID and lead.
struct Row {
  std::vector<std::string> names;
  std::vector<double> values;
  std::vector<bool> integer, sum;  // counts; partial sums (17 digits)
  void put(const std::string& n, double v, bool is_int = false, bool is_sum = false) {
    names.push_back(n), values.push_back(v), integer.push_back(is_int), sum.push_back(is_sum);
  }
};

Row make_row(const MaskTable& t, const models::ScoreSums* s, const std::vector<const models::FssSums*>& fss) {
  const models::ScoreSums none(t.thresholds);
  const models::ScoreSums& z = s ? *s : none;
  const auto c = models::continuous_scores(z.cont);
  const bool temp = t.variable == "temperature";
  Row r;
  r.put("n", double(c.n), true);
  r.put("bias", c.bias), r.put("mae", c.mae), r.put("rmse", c.rmse), r.put("correlation", c.correlation);
  r.put("accuracy_1", temp ? c.accuracy1 : NAN), r.put("accuracy_2", temp ? c.accuracy2 : NAN);
  const auto& p = z.cont;
  r.put("within_1", double(p.within1), true), r.put("within_2", double(p.within2), true);
  for (const auto& [n, v] : {std::pair{"sum_f", p.sum_f},
                             {"sum_o", p.sum_o},
                             {"sum_e", p.sum_e},
                             {"sum_abs_e", p.sum_abs_e},
                             {"sum_e2", p.sum_e2},
                             {"sum_f2", p.sum_f2},
                             {"sum_o2", p.sum_o2},
                             {"sum_fo", p.sum_fo}})
    r.put(n, v, false, true);
  for (const auto& k : z.cat) {
    const std::string x = "_" + tag(k.threshold);
    const auto s2 = models::categorical_scores(k);
    r.put("hits" + x, double(k.hits), true), r.put("misses" + x, double(k.misses), true);
    r.put("false_alarms" + x, double(k.false_alarms), true);
    r.put("correct_negatives" + x, double(k.correct_negatives), true);
    r.put("pod" + x, s2.pod), r.put("far" + x, s2.far), r.put("ts" + x, s2.csi), r.put("ets" + x, s2.ets);
    r.put("frequency_bias" + x, s2.frequency_bias), r.put("accuracy" + x, s2.accuracy);
  }
  for (std::size_t i = 0; i < fss.size(); ++i) {
    const double th = t.thresholds[i / t.fss_windows.size()], win = t.fss_windows[i % t.fss_windows.size()];
    const std::string x = fmt::format("_{}_w{:g}", tag(th), win);
    const models::FssSums f = fss[i] ? *fss[i] : models::FssSums{};
    r.put("fss" + x, fss[i] ? models::fss(f) : NAN), r.put("fss_n" + x, double(f.n), true);
    r.put("fss_d2" + x, f.sum_d2, false, true), r.put("fss_f2" + x, f.sum_f2, false, true);
    r.put("fss_o2" + x, f.sum_o2, false, true);
  }
  return r;
}

std::string row_csv(const Row& r) {
  std::string out;
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    const double v = r.values[i];
    out += ',';
    out += r.integer[i] ? fmt::format("{}", std::int64_t(v))
           : r.sum[i]   ? fmt::format("{:.17g}", v)
                        : num(v, false);
  }
  return out;
}

}  // namespace

namespace {

// Calls emit(mask, lead index or −1 for "all", sums or nullptr, fss of the mask) in output order.
template <class Emit>
void for_each_row(const MaskTable& t, Emit emit) {
  Cursor<models::ScoreSums> all{&t.overall};
  std::vector<Cursor<models::ScoreSums>> leads;
  for (const auto& l : t.per_lead) leads.push_back({&l});
  std::vector<Cursor<models::FssSums>> fss;
  for (const auto& f : t.fss) fss.push_back({&f});
  std::vector<const models::FssSums*> none, mine(fss.size());
  for (int m = 0; m < int(t.masks->size()); ++m) {
    for (std::size_t i = 0; i < fss.size(); ++i) mine[i] = fss[i].find(m);
    emit(m, -1, all.find(m), mine);
    for (std::size_t l = 0; l < leads.size(); ++l) emit(m, int(l), leads[l].find(m), none);
  }
}

}  // namespace

void mask_csv(const MaskTable& t, std::ostream& stream) {
  const Row header = make_row(t, nullptr, std::vector<const models::FssSums*>(t.fss.size(), nullptr));
  std::string out = csv_field(t.masks->id_column) + ",lead";
  for (const auto& n : header.names) out += "," + n;
  out += "\n";
  stream << out;
  const std::size_t nf = t.fss.size();
  for_each_row(
      t, [&](int m, int lead, const models::ScoreSums* s, const std::vector<const models::FssSums*>& f) {
        // Lead rows have no FSS (grid to grid has no leads): the FSS columns stay empty there.
        Row r = make_row(t, s, f.empty() ? std::vector<const models::FssSums*>(nf, nullptr) : f);
        out = csv_field((*t.masks->ids)[std::size_t(m)]) + "," +
              (lead < 0 ? "all" : num(t.leads[std::size_t(lead)], false));
        out += row_csv(r) + "\n";
        stream << out;
      });
}

void mask_json(const MaskTable& t, std::ostream& stream) {
  std::string out = fmt::format(
      "{{\n  \"step\": {},\n  \"variable\": {},\n  \"masks\": {},\n  \"id_field\": {},\n  \"count\": {},\n"
      "  \"pairs\": {},\n  \"pairs_outside_masks\": {},\n  \"rows\": [",
      json_string(t.step_id), json_string(t.variable), json_string(t.source), json_string(t.masks->id_column),
      t.masks->size(), t.pairs_total, t.pairs_outside);
  stream << out;
  bool first = true;
  const models::ScoreSums none(t.thresholds);
  for_each_row(
      t, [&](int m, int lead, const models::ScoreSums* s, const std::vector<const models::FssSums*>& f) {
        const models::ScoreSums& z = s ? *s : none;
        out = fmt::format("{}\n  {{\"mask\": {}, \"lead\": {}, {}", first ? "" : ",",
                          json_string((*t.masks->ids)[std::size_t(m)]),
                          lead < 0 ? "null" : num(t.leads[std::size_t(lead)], true),
                          json_scores(z, models::continuous_scores(z.cont)));
        first = false;
        if (!t.fss.empty() && lead < 0) {
          out += ",\n  \"fss\": [";
          for (std::size_t i = 0; i < f.size(); ++i) {
            models::FssSums e;
            if (f[i]) {
              e = *f[i];
            } else {
              e.threshold = t.thresholds[i / t.fss_windows.size()];
              e.window = int(t.fss_windows[i % t.fss_windows.size()]);
            }
            out += (i ? ", " : "") + json_fss(e);
          }
          out += "]";
        }
        out += "}";
        stream << out;
      });
  stream << "\n  ]\n}\n";
}

void write_streamed(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::filesystem::path target(path);
  const std::string tmp = (target.parent_path() / ("." + target.stem().string() + ".partial-" +
                                                   std::to_string(::getpid()) + target.extension().string()))
                              .string();
  std::error_code ec;
  try {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw ProcessingError(path + ": cannot create " + tmp);
    body(out);
    out.close();
    if (!out) throw ProcessingError(path + ": cannot write (disk full?)");
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw ProcessingError(path + ": cannot rename the finished file into place: " + ec.message());
  }
}

vector::CellTable mask_layer(const MaskTable& t) {
  vector::CellTable layer;
  layer.crs_wkt = t.masks->crs_wkt;
  layer.ids = t.masks->ids;
  layer.shapes = t.masks->shapes;
  layer.id_column = t.masks->id_column;
  std::vector<Row> rows;
  for_each_row(t,
               [&](int, int lead, const models::ScoreSums* s, const std::vector<const models::FssSums*>& f) {
                 if (lead < 0) rows.push_back(make_row(t, s, f));
               });
  const Row header = make_row(t, nullptr, std::vector<const models::FssSums*>(t.fss.size(), nullptr));
  for (std::size_t k = 0; k < header.names.size(); ++k) {
    auto& col = layer.add(header.names[k],
                          header.integer[k] ? vector::Column::Type::integer : vector::Column::Type::real);
    col.numbers.resize(rows.size());
    for (std::size_t m = 0; m < rows.size(); ++m) col.numbers[m] = rows[m].values[k];
  }
  return layer;
}

}  // namespace qinling::pipeline::steps
