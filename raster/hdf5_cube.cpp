#include "raster/hdf5_cube.hpp"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <ogr_spatialref.h>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"
#include "raster/source.hpp"

namespace fs = std::filesystem;

namespace qinling::raster {
namespace {

// Reads windows of a layer from its staging raster or its GeoTIFF (nodata → NaN).
class LayerReader {
 public:
  explicit LayerReader(const Hdf5Layer& layer) : layer_(layer) {
    if (layer.staging != nullptr) return;
    ds_ = open_raster(layer.raster_path);
    int has = 0;
    const double nd = ds_->GetRasterBand(1)->GetNoDataValue(&has);
    if (has && !std::isnan(nd)) nodata_ = nd;
  }
  void operator()(const Window& w, float* out) const {
    if (layer_.staging != nullptr) return layer_.staging->read(w, out);
    ErrorTrap trap;
    if (ds_->GetRasterBand(1)->RasterIO(GF_Read, w.x, w.y, w.width, w.height, out, w.width, w.height, GDT_Float32, 0,
                                        0, nullptr) != CE_None)
      throw ProcessingError(layer_.raster_path + ": cannot read rows " + std::to_string(w.y) + "-" +
                            std::to_string(w.y + w.height) + ": " + trap.message());
    if (nodata_)
      for (std::size_t i = 0, n = std::size_t(w.pixels()); i < n; ++i)
        if (out[i] == float(*nodata_)) out[i] = NAN;
  }

 private:
  const Hdf5Layer& layer_;
  DatasetPtr ds_;
  std::optional<double> nodata_;
};

// An HDF5 identifier closed by its matching H5?close when it goes out of scope.
class H5Handle {
 public:
  H5Handle(hid_t id, herr_t (*closer)(hid_t), const std::string& what) : id_(id), closer_(closer) {
    if (id_ < 0) throw ProcessingError("HDF5: " + what + " failed");
  }
  ~H5Handle() {
    if (id_ >= 0) closer_(id_);
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  // Closes now, reporting failure (a file's final flush happens here).
  void close(const std::string& what) {
    const herr_t rc = closer_(id_);
    id_ = -1;
    if (rc < 0) throw ProcessingError("HDF5: " + what + " failed");
  }

 private:
  hid_t id_;
  herr_t (*closer_)(hid_t);
};

void check(herr_t rc, const std::string& what) {
  if (rc < 0) throw ProcessingError("HDF5: " + what + " failed");
}

void string_attr(hid_t obj, const std::string& name, const std::string& value) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())), "string size");
  check(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), "string padding");
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
  H5Handle attr(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                "attribute " + name);
  check(H5Awrite(attr.get(), type.get(), value.c_str()), "writing attribute " + name);
}

template <typename T>
void numeric_attr(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type, const std::vector<T>& values) {
  const hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "attribute space");
  H5Handle attr(H5Acreate2(obj, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                "attribute " + name);
  check(H5Awrite(attr.get(), mem_type, values.data()), "writing attribute " + name);
}

// A 1-D float64 coordinate dataset made a dimension scale.
void coordinate(hid_t file, const std::string& name, const std::vector<double>& values,
                const std::vector<std::pair<std::string, std::string>>& attrs) {
  const hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "coordinate space");
  H5Handle ds(H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose, "coordinate " + name);
  check(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "writing " + name);
  for (const auto& [k, v] : attrs) string_attr(ds.get(), k, v);
  check(H5DSset_scale(ds.get(), name.c_str()), "dimension scale " + name);
}

int int_option(const std::string& key, const std::string& text, int lo, int hi) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    throw ConfigError("options." + key + ": '" + text + "' is not a whole number from " + std::to_string(lo) +
                      " to " + std::to_string(hi));
  return v;
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + std::int64_t(doe) - 719468;
}

}  // namespace

std::optional<double> parse_iso_days(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return std::nullopt;
  std::string rest = text.substr(10);
  if (!rest.empty()) {
    int m = 0;
    if (std::sscanf(rest.c_str(), "T%2d:%2d%n", &h, &mi, &m) != 2 || m != 6) return std::nullopt;
    rest = rest.substr(6);
    if (rest.size() >= 3 && rest[0] == ':') {
      if (std::sscanf(rest.c_str(), ":%2d%n", &s, &m) != 1 || m != 3) return std::nullopt;
      rest = rest.substr(3);
    }
    if (rest == "Z") rest.clear();
    if (!rest.empty()) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return double(days_from_civil(y, unsigned(mo), unsigned(d))) + (h * 3600 + mi * 60 + s) / 86400.0;
}

Hdf5LayerSpec parse_hdf5_options(const CreationOptions& options, const std::string& default_variable) {
  Hdf5LayerSpec spec;
  spec.variable = default_variable;
  for (const auto& [key, value] : options) {
    if (key == "variable") {
      const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      if (!ok || std::isdigit(static_cast<unsigned char>(value[0])))
        throw ConfigError("options.variable: '" + value + "' is not a dataset name (letters, digits and _)");
      spec.variable = value;
    } else if (key == "units") {
      spec.units = value;
    } else if (key == "long_name") {
      spec.long_name = value;
    } else if (key == "time") {
      spec.time_days = parse_iso_days(value);
      if (!spec.time_days)
        throw ConfigError("options.time: '" + value + "' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
      spec.time_text = value;
    } else if (key == "deflate") {
      spec.deflate = int_option(key, value, 0, 9);
    } else if (key == "chunk") {
      spec.chunk = int_option(key, value, 16, 4096);
    } else {
      throw ConfigError("options." + key +
                        ": unknown for format hdf5 (options: variable, units, long_name, time, deflate, chunk)");
    }
  }
  return spec;
}

void check_hdf5_layers(const std::vector<Hdf5LayerSpec>& layers) {
  std::map<std::string, std::vector<const Hdf5LayerSpec*>> by_var;
  for (const auto& l : layers) by_var[l.variable].push_back(&l);
  for (const auto& [name, list] : by_var) {
    if (name == "x" || name == "y" || name == "time" || name == "crs")
      throw ConfigError("variable '" + name + "' is a coordinate name; choose another `variable:`");
    if (list.size() == 1) continue;
    std::set<double> times;
    for (const auto* l : list) {
      if (!l->time_days)
        throw ConfigError("variable '" + name + "' is written by several outputs: give each a distinct `time:`");
      if (!times.insert(*l->time_days).second)
        throw ConfigError("variable '" + name + "': time " + l->time_text + " is written twice");
      if (l->units != list[0]->units || l->long_name != list[0]->long_name || l->deflate != list[0]->deflate ||
          l->chunk != list[0]->chunk)
        throw ConfigError("variable '" + name + "': units, long_name, deflate and chunk must agree across its times");
    }
  }
}

void publish_hdf5(const std::string& path, const std::vector<Hdf5Layer>& layers, const ProgressFn& progress) {
  if (layers.empty()) return;
  const Grid grid = layers.front().staging != nullptr ? layers.front().staging->grid()
                                                      : describe_raster(layers.front().raster_path).grid;
  for (const auto& l : layers) {
    const Grid g = l.staging != nullptr ? l.staging->grid() : describe_raster(l.raster_path).grid;
    if (g.width != grid.width || g.height != grid.height || g.geotransform != grid.geotransform)
      throw ProcessingError(path + ": layer '" + l.spec.variable + "' is not on the cube's grid");
  }
  const fs::path p(path);
  const std::string tmp =
      (p.parent_path() / ("." + p.stem().string() + ".partial-" + std::to_string(::getpid()) + ".h5")).string();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by our exceptions, not printed
  try {
    H5Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "creating " + tmp);
    const auto& gt = grid.geotransform;
    OGRSpatialReference srs;
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    const bool has_crs = !grid.crs_wkt.empty() && srs.importFromWkt(grid.crs_wkt.c_str()) == OGRERR_NONE;
    const bool geographic = has_crs && srs.IsGeographic();
    std::string epsg;
    if (has_crs) {
      const char* auth = srs.GetAuthorityName(nullptr);
      const char* code = srs.GetAuthorityCode(nullptr);
      if (auth != nullptr && code != nullptr) epsg = std::string(auth) + ":" + code;
    }
    string_attr(file.get(), "Conventions", "CF-1.8");
    string_attr(file.get(), "source", "qinling");

    // Coordinates of pixel centres in the grid's CRS (north-up grids: no rotation terms).
    std::vector<double> xs(std::size_t(grid.width)), ys(std::size_t(grid.height));
    for (int i = 0; i < grid.width; ++i) xs[std::size_t(i)] = gt[0] + (i + 0.5) * gt[1];
    for (int j = 0; j < grid.height; ++j) ys[std::size_t(j)] = gt[3] + (j + 0.5) * gt[5];
    std::string xy_units = "m";
    if (has_crs && !geographic) {
      const char* unit = nullptr;
      if (srs.GetLinearUnits(&unit) != 1.0 && unit != nullptr) xy_units = unit;
    }
    coordinate(file.get(), "x", xs,
               {{"standard_name", geographic ? "longitude" : "projection_x_coordinate"},
                {"long_name", geographic ? "longitude" : "x coordinate of projection"},
                {"units", geographic ? "degrees_east" : xy_units},
                {"axis", "X"}});
    coordinate(file.get(), "y", ys,
               {{"standard_name", geographic ? "latitude" : "projection_y_coordinate"},
                {"long_name", geographic ? "latitude" : "y coordinate of projection"},
                {"units", geographic ? "degrees_north" : xy_units},
                {"axis", "Y"}});

    // The grid mapping: a scalar placeholder whose attributes hold the CRS.
    {
      H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
      H5Handle crs(H5Dcreate2(file.get(), "crs", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose, "crs dataset");
      const int zero = 0;
      check(H5Dwrite(crs.get(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &zero), "writing crs");
      string_attr(crs.get(), "crs_wkt", grid.crs_wkt);
      string_attr(crs.get(), "spatial_ref", grid.crs_wkt);
      if (!epsg.empty()) string_attr(crs.get(), "epsg_code", epsg);
      char buf[64];
      std::string text;
      for (const double g : gt) {
        std::snprintf(buf, sizeof buf, "%.17g ", g);
        text += buf;
      }
      text.pop_back();
      string_attr(crs.get(), "GeoTransform", text);
      numeric_attr(crs.get(), "geotransform", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, std::vector<double>(gt.begin(), gt.end()));
    }

    // Variables in name order; a series sorted by time.
    std::map<std::string, std::vector<const Hdf5Layer*>> by_var;
    for (const auto& l : layers) by_var[l.spec.variable].push_back(&l);
    std::set<double> all_times;
    for (const auto& l : layers)
      if (l.spec.time_days) all_times.insert(*l.spec.time_days);
    const std::vector<double> times(all_times.begin(), all_times.end());
    if (!times.empty())
      coordinate(file.get(), "time", times,
                 {{"standard_name", "time"}, {"units", "days since 1970-01-01 00:00:00"}, {"calendar", "standard"},
                  {"axis", "T"}});

    const std::size_t total_rows = layers.size() * std::size_t(grid.height);
    std::size_t rows_done = 0;
    for (auto& [name, list] : by_var) {
      std::sort(list.begin(), list.end(), [](const Hdf5Layer* a, const Hdf5Layer* b) {
        return a->spec.time_days.value_or(0) < b->spec.time_days.value_or(0);
      });
      const Hdf5LayerSpec& spec = list.front()->spec;
      const bool series = spec.time_days.has_value();
      const int rank = series ? 3 : 2;
      const hsize_t h = hsize_t(grid.height), w = hsize_t(grid.width);
      const hsize_t dims3[3] = {hsize_t(times.size()), h, w}, dims2[2] = {h, w};
      const hsize_t ch = std::min<hsize_t>(hsize_t(spec.chunk), h), cw = std::min<hsize_t>(hsize_t(spec.chunk), w);
      const hsize_t chunk3[3] = {1, ch, cw}, chunk2[2] = {ch, cw};
      H5Handle space(H5Screate_simple(rank, series ? dims3 : dims2, nullptr), H5Sclose, "dataspace " + name);
      H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties");
      check(H5Pset_chunk(dcpl.get(), rank, series ? chunk3 : chunk2), "chunking " + name);
      if (spec.deflate > 0) {
        check(H5Pset_shuffle(dcpl.get()), "shuffle filter");
        check(H5Pset_deflate(dcpl.get(), unsigned(spec.deflate)), "deflate filter");
      }
      const float fill = NAN;
      check(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_FLOAT, &fill), "fill value");
      H5Handle ds(H5Dcreate2(file.get(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose, "creating dataset " + name);
      numeric_attr(ds.get(), "_FillValue", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, std::vector<float>{fill});
      if (!spec.units.empty()) string_attr(ds.get(), "units", spec.units);
      string_attr(ds.get(), "long_name", spec.long_name.empty() ? name : spec.long_name);
      string_attr(ds.get(), "grid_mapping", "crs");
      {
        H5Handle x(H5Dopen2(file.get(), "x", H5P_DEFAULT), H5Dclose, "opening x");
        H5Handle y(H5Dopen2(file.get(), "y", H5P_DEFAULT), H5Dclose, "opening y");
        check(H5DSattach_scale(ds.get(), y.get(), unsigned(rank - 2)), "attaching y");
        check(H5DSattach_scale(ds.get(), x.get(), unsigned(rank - 1)), "attaching x");
        if (series) {
          H5Handle t(H5Dopen2(file.get(), "time", H5P_DEFAULT), H5Dclose, "opening time");
          check(H5DSattach_scale(ds.get(), t.get(), 0), "attaching time");
        }
      }

      // One chunk at a time: each write covers a whole chunk, so it is compressed once and never
      // re-read, and memory stays at one chunk whatever the grid size.
      std::vector<float> buf(std::size_t(ch) * std::size_t(cw));
      for (const Hdf5Layer* layer : list) {
        const LayerReader read(*layer);
        const hsize_t ti = series ? hsize_t(std::lower_bound(times.begin(), times.end(), *layer->spec.time_days) -
                                            times.begin())
                                  : 0;
        H5Handle fspace(H5Dget_space(ds.get()), H5Sclose, "file space");
        for (int y0 = 0; y0 < grid.height; y0 += int(ch)) {
          const int rows = std::min(int(ch), grid.height - y0);
          for (int x0 = 0; x0 < grid.width; x0 += int(cw)) {
            const int cols = std::min(int(cw), grid.width - x0);
            read(Window{x0, y0, cols, rows}, buf.data());
            const hsize_t start3[3] = {ti, hsize_t(y0), hsize_t(x0)}, count3[3] = {1, hsize_t(rows), hsize_t(cols)};
            const hsize_t start2[2] = {hsize_t(y0), hsize_t(x0)}, count2[2] = {hsize_t(rows), hsize_t(cols)};
            check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, series ? start3 : start2, nullptr,
                                      series ? count3 : count2, nullptr),
                  "selecting a chunk");
            const hsize_t mdims[2] = {hsize_t(rows), hsize_t(cols)};
            H5Handle mspace(H5Screate_simple(2, mdims, nullptr), H5Sclose, "memory space");
            check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, buf.data()),
                  "writing " + name + " at row " + std::to_string(y0) + ", column " + std::to_string(x0));
          }
          rows_done += std::size_t(rows);
          if (progress && !progress(double(rows_done) / double(total_rows)))
            throw ProcessingError(path + ": cancelled");
        }
      }
    }
    file.close("closing " + tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw ProcessingError(path + ": cannot move the finished output into place: " + ec.message());
  } catch (const ProcessingError& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    const std::string what = e.what();
    if (what.rfind(path, 0) == 0) throw;
    throw ProcessingError(path + ": " + what);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

}  // namespace qinling::raster
