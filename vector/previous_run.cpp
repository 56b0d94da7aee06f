#include "vector/previous_run.hpp"

#include <ogrsf_frmts.h>

#include <cmath>

#include "models/errors.hpp"
#include "vector/ogr_io.hpp"

namespace qinling::vector {

PreviousTable read_previous(const std::string& path, const std::string& layer_name,
                            const std::string& id_field, const std::vector<std::string>& fields) {
  raster::DatasetPtr ds = open_vector(path);
  OGRLayer* layer = ds->GetLayerByName(layer_name.c_str());
  if (layer == nullptr) layer = ds->GetLayer(0);
  if (layer == nullptr) throw InputError(path + ": has no layer");
  OGRFeatureDefn* defn = layer->GetLayerDefn();
  const int id = defn->GetFieldIndex(id_field.c_str());
  if (id < 0)
    throw InputError(path + ": the previous run's table has no cell ID field '" + id_field +
                     "'; point `previous:` at an output of this step");
  PreviousTable out;
  std::vector<int> idx;
  for (const auto& f : fields) {
    idx.push_back(defn->GetFieldIndex(f.c_str()));
    if (idx.back() < 0) out.missing.push_back(f);
  }
  out.columns.resize(fields.size());
  layer->SetIgnoredFields(nullptr);
  layer->ResetReading();
  for (auto& f : *layer) {
    const std::size_t row = out.row_of.size();
    if (!out.row_of.emplace(f->GetFieldAsString(id), row).second) continue;  // duplicate ID: first wins
    for (std::size_t k = 0; k < idx.size(); ++k) {
      double v = NAN;
      if (idx[k] >= 0 && f->IsFieldSetAndNotNull(idx[k])) {
        const OGRFieldType type = defn->GetFieldDefn(idx[k])->GetType();
        if (type == OFTReal || type == OFTInteger || type == OFTInteger64) {
          out.columns[k].push_back(f->GetFieldAsDouble(idx[k]));  // exact: no round trip through text
          continue;
        }
        // CSV may hold numbers as text; a non-number stays missing.
        const char* s = f->GetFieldAsString(idx[k]);
        char* end = nullptr;
        const double x = std::strtod(s, &end);
        if (end != s && *end == '\0') v = x;
      }
      out.columns[k].push_back(v);
    }
  }
  return out;
}

}  // namespace qinling::vector
