// The step interface: a step declares typed options, resolves what it reads without I/O, and
// computes one float band per window; the registry lists every step kind for `qinling steps`.
#pragma once

#include <any>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/diagnostics.hpp"
#include "raster/grid.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline {

// One documented option of a step kind.
struct OptionDoc {
  std::string key, type, doc, default_value;
  bool required = false;
};

// Binds YAML keys to typed members. In documentation mode it only records the options; in parse
// mode it reads them, reports type errors, and `finish()` reports keys no option consumed.
class OptionBinder {
 public:
  explicit OptionBinder(std::vector<OptionDoc>* docs) : docs_(docs) {}
  explicit OptionBinder(MapReader* reader) : reader_(reader) {}

  OptionBinder& required(const std::string& key, std::string* target, const std::string& doc);
  OptionBinder& optional(const std::string& key, std::string* target, const std::string& doc);
  OptionBinder& required(const std::string& key, std::vector<std::string>* target, const std::string& doc);
  OptionBinder& optional(const std::string& key, double* target, const std::string& doc);
  // A name or a list of names; `target` keeps its default when the key is absent.
  OptionBinder& optional(const std::string& key, std::vector<std::string>* target, const std::string& doc);
  // A list of numbers, e.g. `range: [-0.2, 0.9]`.
  OptionBinder& optional(const std::string& key, std::vector<double>* target, const std::string& doc);
  // The value must be one of `choices`.
  OptionBinder& choice(const std::string& key, std::string* target, const std::vector<std::string>& choices,
                       const std::string& doc);

 private:
  void record(const std::string& key, const std::string& type, const std::string& doc, const std::string& def,
              bool req);
  std::vector<OptionDoc>* docs_ = nullptr;
  MapReader* reader_ = nullptr;
};

// What a step may look at while validating: the names that exist in the job (no I/O).
struct ValidationContext {
  // raster input name → its band names
  std::map<std::string, std::vector<std::string>> input_bands;
  // vector input name → its file (GeoJSON, GeoPackage, Shapefile…)
  std::map<std::string, std::string> vector_inputs;
  std::set<std::string> unresolved_inputs;  // inputs whose files could not be opened (already reported)
  // frame set input (aerial photos given by a glob or a list) → its files, sorted
  std::map<std::string, std::vector<std::string>> frame_inputs;
  std::vector<std::string> step_ids;      // every step of the job
  std::vector<std::string> product_ids;   // the steps among them that are products
  std::string base_dir;                   // the job file's folder
  // "input.band" → (file, band number), for product steps that read an input band directly
  std::map<std::string, std::pair<std::string, int>> band_files;
  // raster input name → the file of its sensor profile (inputs with `sensor:` only)
  std::map<std::string, std::string> input_sensors;
  bool is_input(const std::string& n) const { return input_bands.count(n) != 0; }
  bool is_vector_input(const std::string& n) const { return vector_inputs.count(n) != 0; }
  bool is_step(const std::string& n) const;
  bool is_product(const std::string& n) const;
};

class Progress;

// An output of the job that names a product step in `from`.
struct ProductOutput {
  std::string path;  // absolute
  std::string format;
  raster::CreationOptions options;
};

// What a product step gets when it runs, after every per-pixel layer it needs is written.
struct ProductContext {
  raster::Grid grid;  // the analysis grid
  int threads = 1;
  Progress* progress = nullptr;
  std::string base_dir, out_dir;  // the job file's folder; where outputs go
  // pixel step id → a finished float32 GeoTIFF (NaN nodata) of it on the analysis grid
  std::map<std::string, std::string> rasters;
  // product step id → its in-memory result, for products that read other products
  std::map<std::string, std::any> results;
  std::map<std::string, std::string> vector_inputs;  // vector input name → file
  std::map<std::string, std::vector<std::string>> frame_inputs;  // frame set name → files
  std::vector<ProductOutput> outputs;  // the outputs of the step being run
};

// Keys of per-window values: "input.band" for an input band, the step id for a step's result.
std::string band_key(const std::string& input, const std::string& band);

// `pixel` steps compute one float band per window inside the streamed pass; `product` steps run
// afterwards on whole finished layers (tiles, zonal statistics, tables) and write their own outputs.
enum class StepClass { pixel, product };

class Step {
 public:
  virtual ~Step() = default;
  virtual StepClass step_class() const { return StepClass::pixel; }
  // Output formats an `outputs:` entry naming this step may ask for.
  virtual std::vector<std::string> output_formats() const { return {"cog", "gtiff"}; }
  // Binds the step's options (also used, with a documentation binder, by `qinling steps`).
  virtual void declare(OptionBinder& binder) = 0;
  // Cross-field rules and name resolution, without I/O. Report problems with `diag.error`.
  virtual void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& key_path) = 0;
  // The keys this step reads, in the order `compute` receives them. Valid after validate().
  // Product steps return the ids of the steps whose layers or results they read.
  virtual std::vector<std::string> needs() const = 0;
  // Pixel steps: computes `n` output values from the needed inputs. Called concurrently.
  virtual void compute(const std::vector<const float*>& in, float* out, std::size_t n) const;
  // Focal pixel steps: how many pixels around each output pixel they read (0: a point operation).
  virtual int halo() const { return 0; }
  // The buffers of a window as focal steps see them: row-major, `width` × `height`, with the
  // window padded by the halo (NaN beyond the raster edge); `res_x`/`res_y` in ground units.
  struct Shape {
    int width = 0, height = 0;
    double res_x = 1, res_y = 1;
  };
  // Defaults to compute(in, out, width*height); focal steps override it.
  virtual void compute_window(const std::vector<const float*>& in, float* out, const Shape& shape) const {
    compute(in, out, std::size_t(shape.width) * std::size_t(shape.height));
  }
  // Product steps: does the work; may store its result in ctx.results[id].
  virtual void produce(ProductContext& ctx);
  // Product steps that split their work across MPI ranks: under mpirun every rank calls produce()
  // (the others with no outputs), which reduces the ranks' partial results on rank 0 (mpi_world).
  // Their results must then exist on every rank. Valid after validate().
  virtual bool distributed() const { return false; }

  std::string id;
};

struct StepKind {
  std::string kind, summary, doc;
  std::function<std::unique_ptr<Step>()> make;
};

class StepRegistry {
 public:
  void add(StepKind kind);
  const StepKind* find(const std::string& kind) const;
  const std::vector<StepKind>& kinds() const { return kinds_; }
  std::vector<std::string> names() const;

 private:
  std::vector<StepKind> kinds_;
};

// Fills a registry with every built-in step (explicit, no static-initialisation tricks).
void register_builtin_steps(StepRegistry& registry);
// The process-wide registry with the built-in steps.
const StepRegistry& builtin_steps();

}  // namespace qinling::pipeline
